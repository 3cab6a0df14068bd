export * from "./audit";
export * from "./calls";
export * from "./enums";
export * from "./progress";
export * from "./relations";
export * from "./safety";
export * from "./sessions";
export * from "./users";

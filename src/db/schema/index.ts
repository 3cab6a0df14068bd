export * from "./audit";
export * from "./enums";
export * from "./progress";
export * from "./safety";
export * from "./sessions";
export * from "./users";

/** Renders variables as a dotenv file, quoting every value so spaces and `#` survive. */
export function toEnvFile(vars: Record<string, string>): string {
  return Object.entries(vars)
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
    .join("\n")
    .concat("\n");
}

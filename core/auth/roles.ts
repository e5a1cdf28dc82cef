/** @module Role ladder shared by the edge and the functions: each role can do what the ones below it can. */
export const ROLES = ["VIEWER", "OPERATOR", "ADMIN"] as const;
export type Role = (typeof ROLES)[number];

const rank: Record<Role, number> = { VIEWER: 0, OPERATOR: 1, ADMIN: 2 };

export function roleAtLeast(actual: Role, required: Role): boolean {
  return rank[actual] >= rank[required];
}

export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}

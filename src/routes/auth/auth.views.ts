import type { User } from "../../services/auth/accounts";
import type { TokenPair } from "../../services/auth/tokens";

export function userView(user: Pick<User, "id" | "email" | "role" | "status" | "createdAt">) {
  return {
    id: user.id,
    email: user.email,
    role: user.role,
    status: user.status,
    created_at: user.createdAt.toISOString(),
  };
}

export function signInView(user: User, pair: TokenPair) {
  return { ...pair, user: userView(user) };
}

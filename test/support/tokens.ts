// Real signed JWTs for tests, with the same secret the test server verifies with.
import jwt from "jsonwebtoken";

export const TEST_JWT_SECRET = "test-secret-for-city-backend-tests-0123456789";

export function userToken(userId: string, extra: Record<string, unknown> = {}, secret = TEST_JWT_SECRET): string {
  return jwt.sign({ sub: userId, ...extra }, secret, { algorithm: "HS256", expiresIn: "1h" });
}

export function agentToken(agentId: string, extra: Record<string, unknown> = {}): string {
  return jwt.sign({ agent_id: agentId, ...extra }, TEST_JWT_SECRET, { algorithm: "HS256", expiresIn: "1h" });
}

export const auth = (token: string) => ({ authorization: `Bearer ${token}` });

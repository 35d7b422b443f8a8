/** The message of anything thrown, for a log field or an error text (a thrown string stays itself). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

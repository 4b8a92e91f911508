// The error table generated from the Rust `api` crate: one source of truth for codes and advice.
import type { ApiError } from "../bindings/ApiError";
import type { ErrorRow } from "../bindings/ErrorRow";
import type { Lang } from "../bindings/Lang";
import table from "../bindings/errorTable.json";

export const errorTable: readonly ErrorRow[] = table as ErrorRow[];

/** The error for `code` in `lang`, as the API would send it; `undefined` for unknown codes. */
export function describeError(code: number, lang: Lang): ApiError | undefined {
  const row = errorTable.find((r) => r.code === code);
  if (!row) return undefined;
  const texts = row[lang];
  return { code, message: texts.message, advice: texts.advice, retryable: row.retryable };
}

/** Rows whose code, message or advice (in `lang`) contain `query`. */
export function searchErrors(query: string, lang: Lang): ErrorRow[] {
  const q = query.trim().toLowerCase();
  if (!q) return [...errorTable];
  return errorTable.filter((row) => {
    const texts = row[lang];
    return (
      String(row.code).includes(q) ||
      texts.message.toLowerCase().includes(q) ||
      texts.advice.toLowerCase().includes(q)
    );
  });
}

/** Whether a thrown value is an `ApiError` from the console or the server. */
export function isApiError(value: unknown): value is ApiError {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as ApiError).code === "number" &&
    typeof (value as ApiError).message === "string" &&
    typeof (value as ApiError).advice === "string"
  );
}

/** One line for a failure: message and advice for API errors, the text of anything else. */
export function failureText(value: unknown): string {
  return isApiError(value) ? `${value.code}: ${value.message} ${value.advice}` : String(value);
}

package io.ringbatch.api;

/**
 * One thing wrong with a request, as problem responses list it under {@code errors}.
 *
 * @param field  where: a JSON path into the body ({@code input.include[1]}, {@code params.pattern}), a query
 *               parameter or a header name
 * @param reason what is wrong, for a person to read
 */
public record FieldError(String field, String reason) {
}

package io.ringbatch.api;

import java.util.List;
import java.util.Map;
import org.springframework.http.HttpStatus;

/**
 * A request the API refuses, with what the problem response says: status, detail, the offending fields
 * (for validation errors) and extra headers (Retry-After). Never carries a cause into the response.
 */
public class ApiException extends RuntimeException {
    private final HttpStatus status;
    private final List<FieldError> errors;
    private final Map<String, String> headers;

    public ApiException(HttpStatus status, String detail, List<FieldError> errors, Map<String, String> headers) {
        super(detail);
        this.status = status;
        this.errors = errors == null ? List.of() : List.copyOf(errors);
        this.headers = headers == null ? Map.of() : Map.copyOf(headers);
    }

    public ApiException(HttpStatus status, String detail) {
        this(status, detail, null, null);
    }

    /** 400 naming the fields; the detail sums them up. */
    public static ApiException invalid(List<FieldError> errors) {
        String detail;
        if (errors.size() == 1) {
            detail = errors.get(0).field() + ": " + errors.get(0).reason();
        } else {
            detail = errors.size() + " problems, the first: " + errors.get(0).field() + ": " + errors.get(0).reason();
        }
        return new ApiException(HttpStatus.BAD_REQUEST, detail, errors, null);
    }

    public static ApiException invalid(String field, String reason) {
        return invalid(List.of(new FieldError(field, reason)));
    }

    public static ApiException notFound(String detail) {
        return new ApiException(HttpStatus.NOT_FOUND, detail);
    }

    public static ApiException conflict(String detail) {
        return new ApiException(HttpStatus.CONFLICT, detail);
    }

    public HttpStatus status() {
        return status;
    }

    public List<FieldError> errors() {
        return errors;
    }

    public Map<String, String> headers() {
        return headers;
    }

    /** Nothing to gain from a stack trace: these are answers, not failures. */
    @Override
    public synchronized Throwable fillInStackTrace() {
        return this;
    }
}

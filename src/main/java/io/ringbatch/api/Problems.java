package io.ringbatch.api;

import java.net.URI;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;

/** RFC 9457 problem details as the API writes them. */
final class Problems {
    static final String API_PREFIX = "/api";

    private Problems() {
    }

    static boolean isApi(String pathWithinApplication) {
        return pathWithinApplication != null
                && (pathWithinApplication.equals(API_PREFIX) || pathWithinApplication.startsWith(API_PREFIX + "/"));
    }

    static ProblemDetail of(HttpStatusCode status, String detail, List<FieldError> errors) {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(status, detail);
        if (status instanceof HttpStatus s) {
            problem.setTitle(s.getReasonPhrase());
        }
        if (errors != null && !errors.isEmpty()) {
            problem.setProperty("field", errors.get(0).field());
            problem.setProperty("errors", errors);
        }
        return problem;
    }

    /**
     * The same as a plain map, for places that write JSON themselves (servlet filters); like Spring's,
     * without {@code type} (which then means {@code about:blank}).
     */
    static Map<String, Object> asMap(int status, String detail, String instance) {
        Map<String, Object> body = new LinkedHashMap<>();
        HttpStatus known = HttpStatus.resolve(status);
        body.put("title", known == null ? "Error" : known.getReasonPhrase());
        body.put("status", status);
        body.put("detail", detail);
        if (instance != null) {
            try {
                body.put("instance", URI.create(instance).toString());
            } catch (IllegalArgumentException e) {
                // not a URI as it stands: leave it out
            }
        }
        return body;
    }

    /** What to say for a status when nothing better is known. */
    static String defaultDetail(int status, String method) {
        return switch (status) {
            case 400 -> "the request is not valid";
            case 401 -> "authentication is required (HTTP basic)";
            case 403 -> "GET".equals(method) || "HEAD".equals(method) || "OPTIONS".equals(method)
                    ? "access denied" : "access denied: submitting and steering jobs needs the role OPERATOR";
            case 404 -> "no such resource";
            case 405 -> "method not allowed";
            case 413 -> "the request body is too large";
            case 415 -> "unsupported media type";
            default -> status >= 500 ? "internal error; see the service log" : "the request failed";
        };
    }
}

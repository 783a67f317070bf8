package io.ringbatch.api;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.net.URI;
import java.util.Collection;
import java.util.List;
import org.apache.tomcat.util.http.InvalidParameterException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.ErrorResponse;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.async.AsyncRequestNotUsableException;
import org.springframework.web.method.annotation.MethodArgumentTypeMismatchException;
import org.springframework.web.util.DisconnectedClientHelper;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.DatabindException;
import tools.jackson.databind.exc.MismatchedInputException;

/**
 * Every exception of a request under {@code /api} as an RFC 9457 problem ({@code application/problem+json}):
 * the API's own refusals ({@link ApiException}) with their status, fields and headers; Spring MVC's
 * (405, 406, 415, missing or mistyped parameters, no such path) with their status and headers (Allow,
 * Accept); unreadable bodies as 400 (413 past the size limit); anything else as a 500 that says nothing
 * about the internals. Requests outside {@code /api} are left to Spring Boot's error handling.
 */
@RestControllerAdvice
@Order(Ordered.HIGHEST_PRECEDENCE)
public class ApiExceptionHandler {
    private static final Logger log = LoggerFactory.getLogger(ApiExceptionHandler.class);

    @ExceptionHandler(ApiException.class)
    public ResponseEntity<ProblemDetail> api(ApiException e, HttpServletRequest request) {
        ResponseEntity.BodyBuilder response = ResponseEntity.status(e.status());
        e.headers().forEach(response::header);
        return response.contentType(MediaType.APPLICATION_PROBLEM_JSON)
                .body(withInstance(Problems.of(e.status(), e.getMessage(), e.errors()), request));
    }

    @ExceptionHandler(HttpMessageNotReadableException.class)
    public ResponseEntity<ProblemDetail> unreadable(HttpMessageNotReadableException e, HttpServletRequest request)
            throws HttpMessageNotReadableException {
        if (!Problems.isApi(ApiProblemFilter.path(request))) {
            throw e;
        }
        JacksonException jackson = null;
        for (Throwable t = e; t != null; t = t.getCause()) {
            // Jackson wraps the reader's exceptions: the size limit first, wherever it is in the chain
            if (t instanceof ApiProblemFilter.BodyTooLargeException) {
                return problem(HttpStatus.CONTENT_TOO_LARGE, t.getMessage(), request);
            }
            if (jackson == null && t instanceof JacksonException j) {
                jackson = j;
            }
        }
        if (jackson instanceof DatabindException mismatch
                && !String.valueOf(mismatch.getOriginalMessage()).startsWith("Trailing token")) {
            return mismatched(mismatch, request);
        }
        if (jackson != null) {
            ApiException malformed = JobRequestReader.malformed(jackson);
            return problem(malformed.status(), malformed.getMessage(), request);
        }
        String message = e.getMessage();
        if (message != null && message.startsWith("Required request body is missing")) {
            return problem(HttpStatus.BAD_REQUEST, "the request body is missing", request);
        }
        return problem(HttpStatus.BAD_REQUEST, "the request body cannot be read", request);
    }

    /**
     * Well-formed JSON of the wrong shape for the body's type: named by its field path and the JSON type
     * expected, not in Jackson's words (which name Java classes).
     */
    private static ResponseEntity<ProblemDetail> mismatched(DatabindException e, HttpServletRequest request) {
        StringBuilder field = new StringBuilder();
        for (JacksonException.Reference ref : e.getPath()) {
            if (ref.getPropertyName() != null) {
                field.append(field.isEmpty() ? "" : ".").append(ref.getPropertyName());
            } else if (ref.getIndex() >= 0) {
                field.append('[').append(ref.getIndex()).append(']');
            }
        }
        Class<?> type = e instanceof MismatchedInputException m ? m.getTargetType() : null;
        String expected = type == null ? null
                : Collection.class.isAssignableFrom(type) || type.isArray() ? "an array"
                : CharSequence.class.isAssignableFrom(type) ? "a string"
                : type == Boolean.class || type == boolean.class ? "true or false"
                : Number.class.isAssignableFrom(type) || type.isPrimitive() ? "a number"
                : "a JSON object";
        String reason = expected == null ? "is not of the expected JSON type" : "must be " + expected;
        if (field.isEmpty()) {
            return problem(HttpStatus.BAD_REQUEST, "the request body " + reason, request);
        }
        ResponseEntity<ProblemDetail> response = problem(HttpStatus.BAD_REQUEST, field + ": " + reason, request);
        response.getBody().setProperty("field", field.toString());
        response.getBody().setProperty("errors", List.of(new FieldError(field.toString(), reason)));
        return response;
    }

    /** Tomcat refuses to decode the query string (not UTF-8 once percent-decoded, too many parameters). */
    @ExceptionHandler(InvalidParameterException.class)
    public ResponseEntity<ProblemDetail> badParameters(InvalidParameterException e, HttpServletRequest request)
            throws InvalidParameterException {
        if (!Problems.isApi(ApiProblemFilter.path(request))) {
            throw e;
        }
        return problem(HttpStatus.BAD_REQUEST, BAD_PARAMETERS, request);
    }

    /**
     * The firewall checks parameter names only when they are first read, which a mapping on a query
     * parameter (the download by {@code ?path=}) does while the request is dispatched: a name with a
     * control character is then a bad request, not an internal error.
     */
    @ExceptionHandler(org.springframework.security.web.firewall.RequestRejectedException.class)
    public ResponseEntity<ProblemDetail> rejected(org.springframework.security.web.firewall.RequestRejectedException e,
                                                  HttpServletRequest request)
            throws org.springframework.security.web.firewall.RequestRejectedException {
        if (!Problems.isApi(ApiProblemFilter.path(request))) {
            throw e;
        }
        return problem(HttpStatus.BAD_REQUEST, "the request was refused: " + e.getMessage().replaceAll("[^\\x20-\\x7E]", "?"),
                request);
    }

    static final String BAD_PARAMETERS = "the query string cannot be read: a parameter is not percent-encoded UTF-8, "
            + "or there are too many parameters";

    @ExceptionHandler(MethodArgumentTypeMismatchException.class)
    public ResponseEntity<ProblemDetail> mistyped(MethodArgumentTypeMismatchException e, HttpServletRequest request)
            throws MethodArgumentTypeMismatchException {
        if (!Problems.isApi(ApiProblemFilter.path(request))) {
            throw e;
        }
        Class<?> type = e.getRequiredType();
        String expected = type == null ? "of another type"
                : Number.class.isAssignableFrom(type) || type == int.class || type == long.class ? "an integer"
                : type == Boolean.class || type == boolean.class ? "true or false"
                : "of another type";
        List<FieldError> errors = List.of(new FieldError(e.getName(), "must be " + expected));
        ResponseEntity<ProblemDetail> response = problem(HttpStatus.BAD_REQUEST, e.getName() + ": must be " + expected,
                request);
        response.getBody().setProperty("field", e.getName());
        response.getBody().setProperty("errors", errors);
        return response;
    }

    @ExceptionHandler(Exception.class)
    public ResponseEntity<ProblemDetail> other(Exception e, HttpServletRequest request, HttpServletResponse response)
            throws Exception {
        if (!Problems.isApi(ApiProblemFilter.path(request))) {
            throw e;
        }
        if (e instanceof AsyncRequestNotUsableException || DisconnectedClientHelper.isClientDisconnectedException(e)) {
            return null; // the client went away: nothing to answer
        }
        if (response.isCommitted()) {
            log.warn("{} {} failed after the response was committed: {}", request.getMethod(), request.getRequestURI(),
                    e.toString());
            return null;
        }
        if (e instanceof ErrorResponse error) {
            HttpStatusCode status = error.getStatusCode();
            ProblemDetail body = error.getBody();
            String detail = body.getDetail() == null ? Problems.defaultDetail(status.value(), request.getMethod())
                    : body.getDetail();
            ProblemDetail problem = Problems.of(status, detail, null);
            if (status.is5xxServerError()) {
                log.warn("{} {}: {}", request.getMethod(), request.getRequestURI(), e.toString());
            }
            ResponseEntity.BodyBuilder answer = ResponseEntity.status(status);
            error.getHeaders().forEach((name, values) -> values.forEach(v -> answer.header(name, v)));
            return answer.contentType(MediaType.APPLICATION_PROBLEM_JSON).body(withInstance(problem, request));
        }
        log.error("{} {} failed", request.getMethod(), request.getRequestURI(), e);
        return problem(HttpStatus.INTERNAL_SERVER_ERROR, "internal error; see the service log", request);
    }

    private static ResponseEntity<ProblemDetail> problem(HttpStatusCode status, String detail,
                                                         HttpServletRequest request) {
        return ResponseEntity.status(status).contentType(MediaType.APPLICATION_PROBLEM_JSON)
                .body(withInstance(Problems.of(status, detail, null), request));
    }

    private static ProblemDetail withInstance(ProblemDetail problem, HttpServletRequest request) {
        if (problem.getInstance() == null) {
            try {
                problem.setInstance(URI.create(request.getRequestURI()));
            } catch (IllegalArgumentException e) {
                // not a URI as it stands: leave it out
            }
        }
        return problem;
    }
}

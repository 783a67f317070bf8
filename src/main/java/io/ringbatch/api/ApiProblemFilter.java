package io.ringbatch.api;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpServletResponseWrapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import org.apache.tomcat.util.http.InvalidParameterException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.core.Ordered;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.util.unit.DataSize;
import org.springframework.web.filter.OncePerRequestFilter;
import tools.jackson.databind.json.JsonMapper;

/**
 * Makes every error under {@code /api} an RFC 9457 problem, also those that never reach a controller,
 * and limits request bodies.
 * <ul>
 * <li>Runs before Spring Security, so that its 401 and 403 (which call {@code sendError} or only set the
 * status) come out as {@code application/problem+json}, keeping their headers (WWW-Authenticate).</li>
 * <li>Request bodies larger than {@code ringbatch.api.max-request-body} (default 64KB) get 413: at once
 * when Content-Length says so, else when reading passes the limit.</li>
 * <li>An exception that escapes everything else becomes a 500 problem without internals (and is
 * logged).</li>
 * </ul>
 */
@Component
public class ApiProblemFilter extends OncePerRequestFilter implements Ordered {
    private static final Logger log = LoggerFactory.getLogger(ApiProblemFilter.class);
    /** Before Spring Security's filter chain (-100). */
    static final int ORDER = -200;

    private final JsonMapper json;
    private final long maxBody;

    public ApiProblemFilter(JsonMapper json, @Value("${ringbatch.api.max-request-body:64KB}") DataSize maxBody) {
        this.json = json;
        this.maxBody = maxBody.toBytes();
    }

    @Override
    public int getOrder() {
        return ORDER;
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        return !Problems.isApi(path(request));
    }

    static String path(HttpServletRequest request) {
        String uri = request.getRequestURI();
        String context = request.getContextPath();
        return context != null && !context.isEmpty() && uri.startsWith(context) ? uri.substring(context.length()) : uri;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        ProblemResponse problems = new ProblemResponse(response, request);
        if (request.getContentLengthLong() > maxBody) {
            problems.problem(413, "the request body is larger than " + maxBody + " bytes");
            return;
        }
        try {
            chain.doFilter(new LimitedRequest(request, maxBody), problems);
        } catch (IOException | ServletException | RuntimeException e) {
            if (response.isCommitted()) {
                throw e;
            }
            if (e instanceof InvalidParameterException) {
                // a filter asked for a parameter of a query string that Tomcat cannot decode
                problems.problem(400, ApiExceptionHandler.BAD_PARAMETERS);
                return;
            }
            log.error("{} {} failed", request.getMethod(), request.getRequestURI(), e);
            problems.problem(500, "internal error; see the service log");
            return;
        }
        if (!request.isAsyncStarted() && !response.isCommitted() && response.getStatus() >= 400
                && !problems.bodyStarted) {
            // a bare status (e.g. 401 for a script's request): give it a body too
            problems.problem(response.getStatus(), Problems.defaultDetail(response.getStatus(), request.getMethod()));
        }
    }

    /** Turns {@code sendError} into a problem body; notes whether anyone wrote a body. */
    private final class ProblemResponse extends HttpServletResponseWrapper {
        private final HttpServletRequest request;
        boolean bodyStarted;

        ProblemResponse(HttpServletResponse response, HttpServletRequest request) {
            super(response);
            this.request = request;
        }

        @Override
        public void sendError(int sc) throws IOException {
            problem(sc, Problems.defaultDetail(sc, request.getMethod()));
        }

        @Override
        public void sendError(int sc, String msg) throws IOException {
            // messages of sendError come from frameworks and containers: keep our own words
            problem(sc, Problems.defaultDetail(sc, request.getMethod()));
        }

        void problem(int status, String detail) throws IOException {
            HttpServletResponse response = (HttpServletResponse) getResponse();
            if (response.isCommitted()) {
                return;
            }
            response.resetBuffer();
            response.setStatus(status);
            response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
            response.setCharacterEncoding(StandardCharsets.UTF_8.name());
            byte[] body = json.writeValueAsBytes(Problems.asMap(status, detail, request.getRequestURI()));
            response.setContentLength(body.length);
            response.getOutputStream().write(body);
            response.flushBuffer();
            bodyStarted = true;
        }

        @Override
        public ServletOutputStream getOutputStream() throws IOException {
            bodyStarted = true;
            return super.getOutputStream();
        }

        @Override
        public PrintWriter getWriter() throws IOException {
            bodyStarted = true;
            return super.getWriter();
        }
    }

    /** Thrown when reading a request body passes the limit; answered with 413. */
    static final class BodyTooLargeException extends IOException {
        BodyTooLargeException(long limit) {
            super("the request body is larger than " + limit + " bytes");
        }
    }

    private static final class LimitedRequest extends HttpServletRequestWrapper {
        private final long limit;
        private ServletInputStream stream;

        LimitedRequest(HttpServletRequest request, long limit) {
            super(request);
            this.limit = limit;
        }

        @Override
        public ServletInputStream getInputStream() throws IOException {
            if (stream == null) {
                stream = new LimitedStream(super.getInputStream(), limit);
            }
            return stream;
        }

        @Override
        public BufferedReader getReader() throws IOException {
            String encoding = getCharacterEncoding();
            Charset charset = encoding == null ? StandardCharsets.UTF_8 : Charset.forName(encoding);
            return new BufferedReader(new InputStreamReader(getInputStream(), charset));
        }
    }

    private static final class LimitedStream extends ServletInputStream {
        private final ServletInputStream in;
        private final long limit;
        private long count;

        LimitedStream(ServletInputStream in, long limit) {
            this.in = in;
            this.limit = limit;
        }

        private void counted(long n) throws BodyTooLargeException {
            if (n > 0) {
                count += n;
                if (count > limit) {
                    throw new BodyTooLargeException(limit);
                }
            }
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            if (b >= 0) {
                counted(1);
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            counted(n);
            return n;
        }

        @Override
        public boolean isFinished() {
            return in.isFinished();
        }

        @Override
        public boolean isReady() {
            return in.isReady();
        }

        @Override
        public void setReadListener(ReadListener listener) {
            in.setReadListener(listener);
        }
    }
}

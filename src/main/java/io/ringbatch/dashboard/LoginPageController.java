package io.ringbatch.dashboard;

import jakarta.servlet.http.HttpServletRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import org.springframework.core.io.ClassPathResource;
import org.springframework.http.CacheControl;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.security.web.csrf.CsrfToken;
import org.springframework.stereotype.Controller;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.util.HtmlUtils;

/**
 * The login form ({@code GET /login}; Spring Security takes the POST). Its page is
 * {@code dashboard/login.html} with the CSRF token and the message filled in.
 */
@Controller
public class LoginPageController {
    private final String page;

    public LoginPageController() {
        try (InputStream in = new ClassPathResource("dashboard/login.html").getInputStream()) {
            page = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @GetMapping(path = "/login", produces = MediaType.TEXT_HTML_VALUE)
    public ResponseEntity<String> login(HttpServletRequest request) {
        CsrfToken token = (CsrfToken) request.getAttribute(CsrfToken.class.getName());
        String message = "";
        String locked = request.getParameter("locked");
        if (locked != null && locked.matches("\\d{1,6}")) {
            message = "<p class=\"notice error\" role=\"alert\" id=\"login-locked\">Too many failed sign-ins: try again in "
                    + locked + " s.</p>";
        } else if (request.getParameter("error") != null) {
            message = "<p class=\"notice error\" role=\"alert\" id=\"login-error\">Wrong user name or password.</p>";
        } else if (request.getParameter("logout") != null) {
            message = "<p class=\"notice\" role=\"status\" id=\"login-out\">You are signed out.</p>";
        }
        String html = page
                .replace("{{message}}", message)
                .replace("{{csrfParameter}}", token == null ? "_csrf" : HtmlUtils.htmlEscape(token.getParameterName()))
                .replace("{{csrfToken}}", token == null ? "" : HtmlUtils.htmlEscape(token.getToken()));
        return ResponseEntity.ok().cacheControl(CacheControl.noStore()).contentType(MediaType.TEXT_HTML).body(html);
    }
}

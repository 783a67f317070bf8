package io.ringbatch.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import tools.jackson.databind.JsonNode;

/**
 * A session of the dashboard's login form, for tests that send thousands of requests: HTTP basic checks
 * the password's bcrypt hash on every request (tens of milliseconds of CPU each), a session only at the
 * login. Requests that change state also carry the session's CSRF token, as the dashboard's do.
 *
 * @param cookie     {@code JSESSIONID=...}
 * @param csrfHeader the header the CSRF token goes in
 * @param csrfToken  the token
 */
public record ApiSession(String cookie, String csrfHeader, String csrfToken) {

    public static ApiSession login(ApiHttp http, String user, String password) throws IOException, InterruptedException {
        HttpResponse<String> page = http.send(http.request("/login").header("Accept", "text/html"));
        assertThat(page.statusCode()).as(page.body()).isEqualTo(200);
        String formToken = page.body().replaceAll("(?s).*name=\"_csrf\" value=\"([^\"]+)\".*", "$1");
        String session = sessionCookie(page.headers().allValues("Set-Cookie"), null);
        String form = "username=" + URLEncoder.encode(user, StandardCharsets.UTF_8) + "&password="
                + URLEncoder.encode(password, StandardCharsets.UTF_8) + "&_csrf="
                + URLEncoder.encode(formToken, StandardCharsets.UTF_8);
        HttpResponse<String> login = http.send(http.request("/login").header("Cookie", session)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form)));
        assertThat(login.statusCode()).as(login.body()).isEqualTo(302);
        assertThat(login.headers().firstValue("Location").orElseThrow()).doesNotContain("error");
        session = sessionCookie(login.headers().allValues("Set-Cookie"), session);
        HttpResponse<String> me = http.send(http.request("/api/me").header("Cookie", session));
        assertThat(me.statusCode()).as(me.body()).isEqualTo(200);
        JsonNode csrf = ApiHttp.json(me).path("csrf");
        return new ApiSession(session, csrf.path("headerName").asString(), csrf.path("token").asString());
    }

    private static String sessionCookie(List<String> setCookies, String otherwise) {
        return setCookies.stream().filter(c -> c.startsWith("JSESSIONID=")).map(c -> c.split(";")[0]).findFirst()
                .orElseGet(() -> {
                    assertThat(otherwise).as("a session cookie").isNotNull();
                    return otherwise;
                });
    }

    /** The headers that make a request this session's: the cookie and the CSRF token. */
    public HttpRequest.Builder apply(HttpRequest.Builder request) {
        return request.header("Cookie", cookie).header(csrfHeader, csrfToken);
    }
}

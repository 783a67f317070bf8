package io.ringbatch.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ringbatch.ServiceTest;
import io.ringbatch.TestDirs;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;

/**
 * Throws random and broken requests at the API over real HTTP: thousands of generated job bodies (random
 * JSON of every wrong type, huge and deep documents, odd unicode and numbers, byte-level mutations of a
 * valid body, non-JSON bytes, wrong media types), random list parameters, random ids and file paths on
 * every job endpoint, random bulk-restart bodies. Whatever comes in, the answer is never a 5xx, and every
 * error is an RFC 9457 problem without internals.
 * <p>
 * The generator is a {@link Random} seeded with {@code -Dringbatch.fuzz.seed} (default fixed); every
 * failure message names the seed and the case number, so a failure can be replayed.
 */
@ServiceTest
@Timeout(240)
class ApiFuzzTest {
    static final long SEED = Long.getLong("ringbatch.fuzz.seed", 0x5eed_f022L);
    /** The default of ringbatch.api.max-request-body (64KB). */
    static final int MAX_BODY = 64 * 1024;
    static final int THREADS = 4;

    static Path input;
    static Path tree;
    static Path slow;
    static Path outputRoot;

    @LocalServerPort
    int port;

    ApiHttp http;

    /** Ids of jobs that exist: one completed, one stopped (set up once). */
    static final List<String> REAL_IDS = new ArrayList<>();

    static final Map<Integer, AtomicInteger> BY_STATUS = Collections.synchronizedMap(new TreeMap<>());
    static final AtomicInteger SENT = new AtomicInteger();
    static final AtomicInteger NOT_SENDABLE = new AtomicInteger();
    static final AtomicInteger STREAMS = new AtomicInteger();
    static final AtomicInteger CONTAINER_400 = new AtomicInteger();
    static final Map<String, AtomicInteger> BY_TEST = Collections.synchronizedMap(new TreeMap<>());

    @BeforeAll
    static void files() throws IOException {
        input = Files.createDirectories(TestDirs.input().resolve("ApiFuzzTest"));
        outputRoot = TestDirs.output();
        tree = Files.createDirectories(input.resolve("tree"));
        Files.writeString(tree.resolve("a.txt"), "alpha\n");
        Files.writeString(tree.resolve("b.log"), "bravo\n");
        Files.createDirectories(tree.resolve("sub"));
        Files.writeString(tree.resolve("sub/c.txt"), "charlie\n");
        slow = Files.createDirectories(input.resolve("slow"));
        for (int i = 0; i < 10; i++) {
            Files.writeString(slow.resolve("f" + i + ".txt"), "line " + i + "\n");
        }
    }

    /** Most requests ride on this session (see {@link ApiSession}); some use HTTP basic. */
    static volatile ApiSession session;

    @BeforeEach
    void setUp() throws Exception {
        http = new ApiHttp(port);
        synchronized (REAL_IDS) {
            if (REAL_IDS.isEmpty()) {
                session = ApiSession.login(http, "admin", ApiHttp.ADMIN_PW);
                String done = http.submit(valid("setup-done")).path("id").asString();
                http.awaitStatus(done, "COMPLETED", 60);
                String stopped = http.submit("{\"name\": \"setup-stopped\", \"operation\": \"test-list\", \"params\": "
                        + "{\"delayMillis\": 300}, \"input\": {\"root\": \"" + slow + "\"}}").path("id").asString();
                http.post("/api/jobs/" + stopped + "/stop");
                http.awaitEnd(stopped, 60);
                REAL_IDS.add(done);
                REAL_IDS.add(stopped);
            }
        }
    }

    @AfterAll
    static void summary() {
        System.out.println("ApiFuzzTest summary: seed=" + SEED + " requests=" + SENT.get() + " byStatus=" + BY_STATUS
                + " perTest=" + BY_TEST + " eventStreamsOpenedAndClosed=" + STREAMS.get()
                + " notSendableByTheClient=" + NOT_SENDABLE.get() + " refusedByTomcatBeforeTheApp(400 problem)="
                + CONTAINER_400.get());
    }

    static String valid(String name) {
        return "{\"name\":\"" + name + "\",\"operation\":\"test-list\",\"input\":{\"root\":\"" + tree + "\"}}";
    }

    // ---- sending and checking -----------------------------------------------------------------------

    /** One request to make: what it is (for messages), its method, path (already encoded), headers, body. */
    record Case(int n, String kind, String method, String path, List<String[]> headers, byte[] body, boolean chunked) {
        String describe() {
            String b = body == null ? "" : new String(body, 0, Math.min(body.length, 300), StandardCharsets.UTF_8);
            StringBuilder h = new StringBuilder();
            for (String[] header : headers) {
                h.append(' ').append(header[0]).append(": ").append(abbreviate(header[1], 80)).append(';');
            }
            return "seed=" + SEED + " case #" + n + " [" + kind + "] " + method + " " + abbreviate(path, 300) + h
                    + (body == null ? "" : " body(" + body.length + " bytes" + (chunked ? ", chunked" : "") + ")="
                    + b.replace("\n", "\\n"));
        }
    }

    static String abbreviate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max) + "...(" + s.length() + " chars)";
    }

    /** Failures of one test, collected so that one run shows them all. */
    final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();

    void run(String test, List<Case> cases) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (Case c : cases) {
                futures.add(pool.submit(() -> {
                    try {
                        send(c);
                    } catch (Exception | AssertionError e) {
                        failures.add(c.describe() + "\n    -> " + e);
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        BY_TEST.computeIfAbsent(test, k -> new AtomicInteger()).addAndGet(cases.size());
        List<String> all = new ArrayList<>(failures);
        assertThat(all).as("seed=" + SEED + ": " + all.size() + " of " + cases.size() + " requests of " + test
                + " were answered wrongly; the first:\n" + String.join("\n", all.subList(0, Math.min(15, all.size()))))
                .isEmpty();
    }

    void send(Case c) throws Exception {
        HttpRequest request;
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(http.base() + c.path()))
                    .timeout(Duration.ofSeconds(30));
            for (String[] header : c.headers()) {
                b.header(header[0], header[1]);
            }
            HttpRequest.BodyPublisher publisher;
            if (c.body() == null) {
                publisher = HttpRequest.BodyPublishers.noBody();
            } else if (c.chunked()) {
                byte[] bytes = c.body();
                publisher = HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(bytes));
            } else {
                publisher = HttpRequest.BodyPublishers.ofByteArray(c.body());
            }
            request = b.method(c.method(), publisher).build();
        } catch (IllegalArgumentException e) {
            // java.net.http refuses this URI or header itself: nothing reaches the server
            NOT_SENDABLE.incrementAndGet();
            return;
        }
        long t0 = System.nanoTime();
        HttpResponse<InputStream> response = http.client().send(request, HttpResponse.BodyHandlers.ofInputStream());
        long ms = (System.nanoTime() - t0) / 1_000_000;
        if (ms > 5000) {
            System.out.println("slow answer: " + ms + " ms " + response.statusCode() + " " + abbreviate(c.describe(), 250));
        }
        int status = response.statusCode();
        String type = response.headers().firstValue("Content-Type").orElse("");
        String body;
        try (InputStream in = response.body()) {
            if (type.startsWith("text/event-stream")) {
                body = ""; // a live stream: closing it is all a client has to do
                STREAMS.incrementAndGet();
            } else {
                body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
        }
        SENT.incrementAndGet();
        BY_STATUS.computeIfAbsent(status, k -> new AtomicInteger()).incrementAndGet();
        check(c, status, type, body, response);
    }

    private static final Pattern CLASS_NAME = Pattern.compile(
            "\\b(?:java|javax|jakarta|sun|org\\.springframework|org\\.apache|org\\.h2|tools\\.jackson|com\\.fasterxml"
                    + "|io\\.ringbatch)\\.[a-zA-Z]");
    private static final Pattern EXCEPTION = Pattern.compile("[A-Za-z]+(Exception|Error|Throwable)\\b");
    private static final Pattern FRAME = Pattern.compile("\\bat [\\w$]+(\\.[\\w$]+)+\\(");
    private static final Pattern METHOD_CALL = Pattern.compile("\\b[A-Z][A-Za-z0-9]+\\.[a-z][A-Za-z0-9]*\\(\\)");

    static void check(Case c, int status, String type, String body, HttpResponse<?> response) {
        String ctx = c.describe() + "\n    -> " + status + " " + type + " " + abbreviate(body, 600);
        assertThat(status).as(ctx).isBetween(200, 499);
        if (status >= 300 && status < 400) {
            // only a browser that is not logged in (no credentials, asks for HTML) is sent to the login form
            boolean anonymous = c.headers().stream().noneMatch(h -> h[0].equals("Cookie") || h[0].equals("Authorization"));
            boolean html = c.headers().stream().anyMatch(h -> h[0].equals("Accept") && h[1].contains("text/html"));
            assertThat(anonymous && html && status == 302).as("a redirect: " + ctx).isTrue();
            assertThat(response.headers().firstValue("Location")).as(ctx).hasValueSatisfying(
                    l -> assertThat(l).endsWith("/login"));
            return;
        }
        if (status < 400 || "HEAD".equals(c.method())) {
            return;
        }
        if (status == 400 && containerMayRefuse(c.path())) {
            // refused by Tomcat itself before any filter of the application runs (an encoded '/', '\' or NUL
            // in the path, a path that is not UTF-8, a request line past the 8KB header limit): a problem too
            CONTAINER_400.incrementAndGet();
        }
        assertThat(type).as(ctx).startsWith("application/problem+json");
        JsonNode problem = ApiHttp.JSON.readTree(body);
        assertThat(problem.path("status").asInt()).as(ctx).isEqualTo(status);
        assertThat(problem.path("title").asString()).as(ctx).isNotBlank();
        assertThat(problem.path("detail").asString()).as(ctx).isNotBlank();
        assertThat(body).as(ctx).doesNotContain("\tat ").doesNotContainPattern(CLASS_NAME)
                .doesNotContainPattern(EXCEPTION).doesNotContainPattern(FRAME).doesNotContainPattern(METHOD_CALL);
        if (status == 429) {
            assertThat(response.headers().firstValue("Retry-After")).as(ctx).isPresent();
        }
        if (status == 405) {
            assertThat(response.headers().firstValue("Allow")).as(ctx).isPresent();
        }
    }

    /**
     * Whether Tomcat may refuse the request line before the application sees it: longer than its 8KB
     * header limit, or a path that, decoded, is not UTF-8 or holds '/', '\\', NUL or control characters.
     */
    static boolean containerMayRefuse(String pathAndQuery) {
        if (pathAndQuery.length() > 7800) {
            return true;
        }
        int q = pathAndQuery.indexOf('?');
        String path = q < 0 ? pathAndQuery : pathAndQuery.substring(0, q);
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < path.length(); i++) {
            char ch = path.charAt(i);
            if (ch == '%') {
                if (i + 2 >= path.length() || Character.digit(path.charAt(i + 1), 16) < 0
                        || Character.digit(path.charAt(i + 2), 16) < 0) {
                    return true;
                }
                int b = Integer.parseInt(path.substring(i + 1, i + 3), 16);
                if (b == '/' || b == '\\' || b < 0x20 || b == 0x7f) {
                    return true;
                }
                bytes.write(b);
                i += 2;
            } else {
                bytes.write(ch);
            }
        }
        try {
            StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes.toByteArray()));
            return false;
        } catch (java.nio.charset.CharacterCodingException e) {
            return true;
        }
    }

    static List<String[]> headers(String... nameValues) {
        List<String[]> out = new ArrayList<>();
        for (int i = 0; i + 1 < nameValues.length; i += 2) {
            if (nameValues[i + 1] != null) {
                out.add(new String[] {nameValues[i], nameValues[i + 1]});
            }
        }
        return out;
    }

    static final String ADMIN = ApiHttp.basic("admin", ApiHttp.ADMIN_PW);

    // ---- the tests ----------------------------------------------------------------------------------

    @Test
    void randomJobBodiesNeverGet5xxAndEveryErrorIsAProblem() throws Exception {
        Gen gen = new Gen(new Random(SEED), tree.toString(), outputRoot.toString());
        List<Case> cases = new ArrayList<>();
        for (int i = 0; i < 2400; i++) {
            cases.add(gen.jobCase(i));
        }
        run("POST /api/jobs", cases);
    }

    @Test
    void randomListParametersNeverGet5xx() throws Exception {
        Gen gen = new Gen(new Random(SEED + 1), tree.toString(), outputRoot.toString());
        List<Case> cases = new ArrayList<>();
        for (int i = 0; i < 600; i++) {
            cases.add(gen.listCase(i));
        }
        run("GET /api/jobs", cases);
    }

    @Test
    void randomIdsPathsAndMethodsOnEveryJobEndpointNeverGet5xx() throws Exception {
        Gen gen = new Gen(new Random(SEED + 2), tree.toString(), outputRoot.toString());
        List<Case> cases = new ArrayList<>();
        for (int i = 0; i < 900; i++) {
            cases.add(gen.endpointCase(i, REAL_IDS));
        }
        run("/api/jobs/{id}/...", cases);
    }

    @Test
    void randomBulkRestartBodiesNeverGet5xx() throws Exception {
        Gen gen = new Gen(new Random(SEED + 3), tree.toString(), outputRoot.toString());
        List<Case> cases = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            cases.add(gen.bulkCase(i, REAL_IDS));
        }
        run("POST /api/jobs/bulk-restart", cases);
    }

    @Test
    void bodiesPastTheLimitGet413AndAtTheLimitAreRead() throws Exception {
        String base = valid("limit");
        byte[] atLimit = padded(base, MAX_BODY);
        byte[] past = padded(base, MAX_BODY + 1);
        List<Case> cases = new ArrayList<>();
        List<String[]> json = headers("Authorization", ADMIN, "Content-Type", "application/json");
        cases.add(new Case(0, "limit+1", "POST", "/api/jobs", json, past, false));
        cases.add(new Case(1, "limit+1 chunked", "POST", "/api/jobs", json, past, true));
        cases.add(new Case(2, "100KB chunked", "POST", "/api/jobs", json, padded(base, 100 * 1024), true));
        cases.add(new Case(3, "1MB", "POST", "/api/jobs", json, padded(base, 1024 * 1024), false));
        cases.add(new Case(4, "limit+1 bulk", "POST", "/api/jobs/bulk-restart", json,
                padded("{\"status\": \"FAILED\"}", MAX_BODY + 1), false));
        cases.add(new Case(5, "limit+1 bulk chunked", "POST", "/api/jobs/bulk-restart", json,
                padded("{\"status\": \"FAILED\"}", MAX_BODY + 1), true));
        cases.add(new Case(6, "limit+1 on stop", "POST", "/api/jobs/" + REAL_IDS.get(0) + "/stop", json, past, false));
        cases.add(new Case(7, "limit+1 text/plain", "POST", "/api/jobs",
                headers("Authorization", ADMIN, "Content-Type", "text/plain"), past, false));
        for (Case c : cases) {
            HttpResponse<String> response = sendForString(c);
            String ctx = c.describe() + " -> " + response.statusCode() + " " + abbreviate(response.body(), 300);
            assertThat(response.statusCode()).as(ctx).isEqualTo(413);
            ApiHttp.assertProblem(response, 413);
            assertThat(ApiHttp.json(response).path("detail").asString()).as(ctx).contains(Integer.toString(MAX_BODY));
        }
        // exactly the limit: read, and (here) a valid job
        for (boolean chunked : new boolean[] {false, true}) {
            Case c = new Case(10, "exactly the limit", "POST", "/api/jobs", json, atLimit, chunked);
            HttpResponse<String> response = sendForString(c);
            assertThat(response.statusCode()).as(c.describe() + " -> " + response.body()).isEqualTo(202);
            http.awaitEnd(ApiHttp.json(response).path("id").asString(), 60);
        }
        BY_TEST.computeIfAbsent("body limit", k -> new AtomicInteger()).addAndGet(cases.size() + 2);
    }

    /** The JSON with spaces before its closing brace, {@code size} bytes in all. */
    static byte[] padded(String json, int size) {
        byte[] head = json.substring(0, json.length() - 1).getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[size];
        System.arraycopy(head, 0, out, 0, head.length);
        for (int i = head.length; i < size - 1; i++) {
            out[i] = ' ';
        }
        out[size - 1] = '}';
        return out;
    }

    HttpResponse<String> sendForString(Case c) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(http.base() + c.path())).timeout(Duration.ofSeconds(30));
        for (String[] header : c.headers()) {
            b.header(header[0], header[1]);
        }
        byte[] bytes = c.body();
        b.method(c.method(), c.chunked()
                ? HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(bytes))
                : HttpRequest.BodyPublishers.ofByteArray(bytes));
        HttpResponse<String> response = http.client().send(b.build(), HttpResponse.BodyHandlers.ofString());
        SENT.incrementAndGet();
        BY_STATUS.computeIfAbsent(response.statusCode(), k -> new AtomicInteger()).incrementAndGet();
        return response;
    }

    /**
     * Stops whatever the fuzzing queued or started, and waits until it has ended: the next class that
     * shares the context (see {@link ServiceTest}) starts with no job of this one running.
     */
    @AfterEach
    void stopEverything() {
        await("every job the fuzzing started has ended").atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(100)).until(() -> {
                    JsonNode busy = ApiHttp.json(http.get("/api/jobs?status=QUEUED,STARTING,STARTED,STOPPING&size=100"));
                    for (JsonNode j : busy.path("items")) {
                        if (!"STOPPING".equals(j.path("status").asString())) {
                            http.post("/api/jobs/" + j.path("id").asString() + "/stop");
                        }
                    }
                    return busy.path("totalItems").asInt() == 0;
                });
    }

    // ---- the generator ------------------------------------------------------------------------------

    /** Makes the cases; all randomness comes from one seeded {@link Random}, used on one thread. */
    static final class Gen {
        final Random r;
        final String root;
        final String outRoot;

        Gen(Random r, String root, String outRoot) {
            this.r = r;
            this.root = root;
            this.outRoot = outRoot;
        }

        <T> T pick(List<T> items) {
            return items.get(r.nextInt(items.size()));
        }

        boolean chance(double p) {
            return r.nextDouble() < p;
        }

        // -- JSON pieces --

        static final List<String> NUMBERS = List.of("0", "-0", "1", "-1", "20", "1e400", "-1e400", "1e-400",
                "9999999999999999999999", "-9999999999999999999999", "0.5", "1E2", "2147483648", "-2147483649",
                "60001", "3.0", "1.0e1", "123456789012345678901234567890.5", "4.9e-324", "1.7976931348623157e308");
        /** Numbers that are not JSON: the document is malformed. */
        static final List<String> BAD_NUMBERS = List.of("01", "+1", ".5", "1.", "NaN", "Infinity", "-Infinity", "-",
                "0x1F", "1e", "--1", "1_000");
        static final List<String> STRING_PIECES = List.of("x", "name", "test-list", "checksum", "..", "/", "../..",
                "%00", "%2e%2e", "**/*.txt", "*.log", "[a-", "{a,b", "*", "\\u0000", "\\uD800", "\\uDFFF",
                "\\uDC00\\uD800", "\\uD83D\\uDE00", "\uD83D\uDE00", "\u00e9", "\u4e2d\u6587", "\u202e", "\uFEFF",
                "\\n", "\\t", "\\r", "\\\\", "\\\"", "\\/", " ", "names", "sizes", "delayMillis", "'", "<b>",
                "' OR '1'='1", "${x}", "#{1}", "%s", "\\b\\f", "\u0001".replace("\u0001", "\\u0001"), "a:b",
                "C:\\\\x", "~", "-", "sub", "../outside", "/etc/passwd", "null", "true");
        /** String contents that make the document malformed. */
        static final List<String> BAD_STRING_PIECES = List.of("\u0000", "\u0001", "\n", "\\uZZZZ", "\\x41", "\\",
                "\\u12", "\"");
        static final List<String> KEYS = List.of("name", "operation", "params", "input", "output", "options", "root",
                "include", "exclude", "path", "skipUnreadable", "delayMillis", "pattern", "mode", "explode", "ids",
                "status", "", " ", "NAME", "Name", "name ", "\\u0000", "\\uD800", "__proto__", "constructor",
                "@class", "$ref", "a.b", "input.root", "\uD83D\uDE00", "x");

        String rawString() {
            StringBuilder sb = new StringBuilder();
            int n = r.nextInt(6);
            for (int i = 0; i < n; i++) {
                sb.append(chance(0.03) ? pick(BAD_STRING_PIECES) : pick(STRING_PIECES));
            }
            if (chance(0.2)) {
                sb.append(letters(1 + r.nextInt(20)));
            }
            return sb.toString();
        }

        String letters(int n) {
            StringBuilder sb = new StringBuilder(n);
            for (int i = 0; i < n; i++) {
                sb.append((char) ('a' + r.nextInt(26)));
            }
            return sb.toString();
        }

        String string() {
            return "\"" + rawString() + "\"";
        }

        String number() {
            return chance(0.05) ? pick(BAD_NUMBERS) : pick(NUMBERS);
        }

        String key() {
            return "\"" + (chance(0.2) ? rawString() : pick(KEYS)) + "\"";
        }

        String value(int depth) {
            int k = r.nextInt(depth >= 3 ? 4 : 8);
            return switch (k) {
                case 0 -> "null";
                case 1 -> r.nextBoolean() ? "true" : "false";
                case 2 -> number();
                case 3 -> string();
                case 4 -> object(depth + 1);
                case 5 -> array(depth + 1);
                case 6 -> "{}";
                default -> "[]";
            };
        }

        String object(int depth) {
            StringBuilder sb = new StringBuilder("{");
            int n = r.nextInt(4);
            for (int i = 0; i < n; i++) {
                if (i > 0) {
                    sb.append(',');
                }
                sb.append(key()).append(':').append(value(depth));
            }
            return sb.append('}').toString();
        }

        String array(int depth) {
            StringBuilder sb = new StringBuilder("[");
            int n = r.nextInt(5);
            for (int i = 0; i < n; i++) {
                if (i > 0) {
                    sb.append(',');
                }
                sb.append(value(depth));
            }
            return sb.append(']').toString();
        }

        /** Usually a wrong value for a field, sometimes a right one. */
        String field(String name, int depth) {
            if (chance(0.35)) {
                return value(depth);
            }
            return switch (name) {
                case "name" -> chance(0.1) ? "\"" + letters(190 + r.nextInt(20)) + "\"" : string();
                case "operation" -> pick(List.of("\"test-list\"", "\"test-list\"", "\"TEST-LIST\"", "\"checksum\"",
                        "\"\"", "\" \"", "\"test-list \"", string()));
                case "params" -> params(depth);
                case "input" -> input(depth);
                case "output" -> output(depth);
                case "options" -> "{\"skipUnreadable\":" + pick(List.of("true", "false", "\"true\"", "1", "null", "[]"))
                        + (chance(0.1) ? "," + key() + ":" + value(depth) : "") + "}";
                default -> value(depth);
            };
        }

        String params(int depth) {
            StringBuilder sb = new StringBuilder("{");
            int n = r.nextInt(4);
            for (int i = 0; i < n; i++) {
                if (i > 0) {
                    sb.append(',');
                }
                String k = pick(List.of("delayMillis", "pattern", "mode", "explode", "x", "delayMillis", "mode"));
                String v = switch (k) {
                    case "delayMillis" -> chance(0.5) ? pick(List.of("0", "1", "-0", "5", "-1", "60001", "\"5\"", "5.0",
                            "1e400", "9999999999999999999999")) : value(depth);
                    case "pattern" -> chance(0.5) ? pick(List.of("\"a+\"", "\"(\"", "\"[\"", "\"(a*)*b\"", "\"\\\\\"",
                            "\"\\\\p{Foo}\"", "\"x{99999999999}\"")) : value(depth);
                    case "mode" -> chance(0.5) ? pick(List.of("\"names\"", "\"sizes\"", "\"NAMES\"", "\"\"")) : value(depth);
                    default -> value(depth);
                };
                sb.append('"').append(k).append("\":").append(v);
            }
            return sb.append('}').toString();
        }

        String input(int depth) {
            List<String> parts = new ArrayList<>();
            if (chance(0.85)) {
                String rootValue = switch (r.nextInt(8)) {
                    case 0, 1, 2 -> "\"" + root + "\"";
                    case 3 -> "\"" + root + "/" + rawString() + "\"";
                    case 4 -> "\"tree\"";
                    case 5 -> "\"" + root + "/sub/..\"";
                    default -> value(depth);
                };
                parts.add("\"root\":" + rootValue);
            }
            if (chance(0.3)) {
                parts.add("\"include\":" + globs(depth));
            }
            if (chance(0.3)) {
                parts.add("\"exclude\":" + globs(depth));
            }
            if (chance(0.1)) {
                parts.add(key() + ":" + value(depth));
            }
            Collections.shuffle(parts, r);
            return "{" + String.join(",", parts) + "}";
        }

        String globs(int depth) {
            if (chance(0.3)) {
                return value(depth);
            }
            List<String> items = new ArrayList<>();
            int n = r.nextInt(4);
            for (int i = 0; i < n; i++) {
                items.add(chance(0.7) ? "\"" + pick(List.of("*.txt", "**", "**/*.log", "[a-", "{a,b", "", "/abs/*",
                        "sub/**", "\\\\", "[!a]", "a\\u0000")) + "\"" : value(depth));
            }
            return "[" + String.join(",", items) + "]";
        }

        String output(int depth) {
            String path = switch (r.nextInt(9)) {
                case 0 -> "\"" + outRoot + "/" + letters(8) + "\"";
                case 1 -> "\"" + letters(6) + "\"";
                case 2 -> "\"" + outRoot + "\"";
                case 3 -> "\"" + outRoot + "/" + "a".repeat(300) + "\"";
                case 4 -> "\"" + outRoot + "/" + "a/".repeat(2100 + r.nextInt(500)) + "x\"";
                case 5 -> "\"" + outRoot + "/" + "b".repeat(4100 + r.nextInt(200)) + "\"";
                case 6 -> "\"" + root + "/out\"";
                case 7 -> "\"" + outRoot + "/" + rawString() + "\"";
                default -> value(depth);
            };
            return "{\"path\":" + path + (chance(0.1) ? "," + key() + ":" + value(depth) : "") + "}";
        }

        /** A job body: structured (mostly wrong), or special (huge, deep, long), as a JSON text. */
        String structured() {
            List<String> parts = new ArrayList<>();
            for (String f : JobRequest.FIELDS) {
                if (chance(f.equals("operation") || f.equals("input") ? 0.8 : 0.4)) {
                    parts.add("\"" + f + "\":" + field(f, 0));
                }
            }
            if (chance(0.15)) {
                parts.add(key() + ":" + value(0));
            }
            if (chance(0.1) && !parts.isEmpty()) {
                parts.add(pick(parts)); // a duplicate key
            }
            Collections.shuffle(parts, r);
            return "{" + String.join(chance(0.02) ? ",," : ",", parts) + "}";
        }

        String special() {
            String fieldName = pick(List.of("name", "operation", "params", "input", "output", "options", "junk"));
            return switch (r.nextInt(14)) {
                // a string of ~100KB: past the limit
                case 0 -> "{\"name\":\"" + "x".repeat(100 * 1024) + "\",\"operation\":\"test-list\"}";
                // a string just under the limit
                case 1 -> "{\"operation\":\"test-list\",\"input\":{\"root\":\"" + root + "\"},\"" + fieldName + "\":\""
                        + "\u00e9".repeat(25_000 + r.nextInt(5000)) + "\"}";
                // an array of 10,000 elements
                case 2 -> "{\"operation\":\"test-list\",\"input\":{\"root\":\"" + root + "\",\"include\":["
                        + String.join(",", Collections.nCopies(10_000, "\"*\"")) + "]}}";
                case 3 -> "{\"operation\":\"test-list\",\"" + fieldName + "\":["
                        + String.join(",", Collections.nCopies(10_000, pick(List.of("1", "null", "{}", "[]")))) + "]}";
                case 4 -> "[" + String.join(",", Collections.nCopies(10_000, "0")) + "]";
                // nesting 1,000 deep (and just under Jackson's limit)
                case 5 -> "{\"operation\":\"test-list\",\"" + fieldName + "\":" + "[".repeat(1000) + "]".repeat(1000) + "}";
                case 6 -> "{\"operation\":\"test-list\",\"params\":" + "{\"a\":".repeat(1000) + "1" + "}".repeat(1000) + "}";
                case 7 -> "{\"operation\":\"test-list\",\"input\":{\"root\":\"" + root + "\"},\"params\":"
                        + "{\"a\":".repeat(450) + "1" + "}".repeat(450) + "}";
                case 8 -> "[".repeat(5000);
                // many unknown keys
                case 9 -> {
                    StringBuilder sb = new StringBuilder("{");
                    for (int i = 0; i < 3000; i++) {
                        sb.append("\"k").append(i).append("\":").append(i).append(',');
                    }
                    yield sb.append("\"operation\":\"test-list\"}").toString();
                }
                // a number of 2,000 digits
                case 10 -> "{\"operation\":\"test-list\",\"params\":{\"delayMillis\":" + "9".repeat(2000) + "}}";
                // a valid job whose output path is long: a name past NAME_MAX, a path past PATH_MAX
                case 12 -> "{\"operation\":\"test-list\",\"input\":{\"root\":\"" + root + "\"},\"output\":{\"path\":\""
                        + outRoot + "/" + letters(4) + "/" + "d/".repeat(2000 + r.nextInt(1000)) + "x\"}}";
                case 13 -> "{\"operation\":\"test-list\",\"input\":{\"root\":\"" + root + "\"},\"output\":{\"path\":\""
                        + outRoot + "/" + letters(256 + r.nextInt(5000)) + "\"}}";
                default -> "{\"operation\":\"test-list\",\"input\":{\"root\":\"" + root + "/"
                        + "\\uD800".repeat(2000) + "\"}}";
            };
        }

        static final List<String> VALID_BODIES = List.of(
                "{\"name\":\"x\",\"operation\":\"test-list\",\"input\":{\"root\":\"%s\"}}",
                "{\"name\":\"fuzz\",\"operation\":\"test-list\",\"params\":{\"mode\":\"sizes\",\"delayMillis\":1},"
                        + "\"input\":{\"root\":\"%s\",\"include\":[\"**.txt\"],\"exclude\":[\"sub/**\"]},"
                        + "\"options\":{\"skipUnreadable\":true}}",
                "{\"operation\":\"test-list\",\"params\":{\"pattern\":\"a+\"},\"input\":{\"root\":\"%s\"}}");

        byte[] mutated() {
            byte[] b = String.format(pick(VALID_BODIES), root).getBytes(StandardCharsets.UTF_8);
            int n = 1 + r.nextInt(4);
            for (int i = 0; i < n && b.length > 0; i++) {
                int at = r.nextInt(b.length);
                switch (r.nextInt(8)) {
                    case 0 -> b[at] ^= (byte) (1 << r.nextInt(8));
                    case 1 -> b[at] = (byte) r.nextInt(256);
                    case 2 -> b = splice(b, at, 1, new byte[0]);
                    case 3 -> b = splice(b, at, 0, new byte[] {b[at]});
                    case 4 -> b = splice(b, at, 0, new byte[] {(byte) "{}[]\":,\\ 0a\u0000".charAt(r.nextInt(12))});
                    case 5 -> b = java.util.Arrays.copyOf(b, at);
                    case 6 -> {
                        int len = Math.min(b.length - at, 1 + r.nextInt(20));
                        b = splice(b, at, 0, java.util.Arrays.copyOfRange(b, at, at + len));
                    }
                    default -> {
                        int other = r.nextInt(b.length);
                        byte t = b[at];
                        b[at] = b[other];
                        b[other] = t;
                    }
                }
            }
            return b;
        }

        static byte[] splice(byte[] b, int at, int remove, byte[] insert) {
            byte[] out = new byte[b.length - remove + insert.length];
            System.arraycopy(b, 0, out, 0, at);
            System.arraycopy(insert, 0, out, at, insert.length);
            System.arraycopy(b, at + remove, out, at + insert.length, b.length - at - remove);
            return out;
        }

        byte[] garbage() {
            return switch (r.nextInt(7)) {
                case 0 -> {
                    byte[] b = new byte[r.nextInt(2000)];
                    r.nextBytes(b);
                    yield b;
                }
                case 1 -> new byte[0];
                case 2 -> "   \n\t ".getBytes(StandardCharsets.US_ASCII);
                case 3 -> String.format(VALID_BODIES.get(0), root).getBytes(StandardCharsets.UTF_16); // with a BOM
                case 4 -> String.format(VALID_BODIES.get(0), root).getBytes(StandardCharsets.UTF_16LE);
                case 5 -> ("\uFEFF" + String.format(VALID_BODIES.get(0), root)).getBytes(StandardCharsets.UTF_8);
                default -> pick(List.of("<job/>", "name=x&operation=test-list", "{'name':'x'}", "{name:\"x\"}",
                        "{\"a\":1}{\"b\":2}", "{\"a\":1} x", "/* c */ {}", "{\"a\":1,}", "[1,]", "\"\\ud800\"",
                        "\u0000\u0000\u0000{", "{\"operation\":\"test-list\"", "}")).getBytes(StandardCharsets.UTF_8);
            };
        }

        static final List<String> CONTENT_TYPES = List.of("application/json; charset=utf-8",
                "application/json;charset=UTF-16", "application/json; charset=bogus", "application/json; charset=",
                "text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=zz",
                "application/problem+json", "application/*", "*/*", "", "application/vnd.api+json", "application/json;;",
                ";", "text/json", "APPLICATION/JSON", "application/json, text/plain", "application", "/", "a/b/c",
                "application/json; q=0.5", "application/json; charset=\"utf-8\"", "\u00e9/\u00e9");
        static final List<String> ACCEPTS = List.of("application/json", "*/*", "text/html", "application/xml",
                "text/event-stream", "image/png", "application/problem+json", "text/plain;q=0", "garbage", "a/b;q=x");

        /** Who sends it: mostly the admin's session, some HTTP basic, a few strangers and viewers. */
        List<String[]> auth() {
            List<String[]> h = new ArrayList<>();
            int k = r.nextInt(200);
            if (k < 186) {
                h.add(new String[] {"Cookie", session.cookie()});
                h.add(new String[] {session.csrfHeader(), session.csrfToken()});
            } else if (k < 194) {
                h.add(new String[] {"Authorization", ADMIN});
            } else if (k < 196) {
                h.add(new String[] {"Authorization", ApiHttp.basic("viewer", ApiHttp.VIEWER_PW)});
            } else if (k < 197) {
                h.add(new String[] {"Cookie", session.cookie()}); // no CSRF token
            } else if (k < 198) {
                h.add(new String[] {"Cookie", session.cookie()});
                h.add(new String[] {session.csrfHeader(), "forged" + r.nextInt(100)});
            } else if (k < 199) {
                h.add(new String[] {"Authorization", pick(List.of(ApiHttp.basic("admin", "wrong"), "Basic !!!",
                        "Bearer x", "Basic", ApiHttp.basic("", ""), ApiHttp.basic("nobody", "x")))});
            }
            return h;
        }

        List<String[]> jobHeaders(boolean odd) {
            List<String[]> h = auth();
            if (!odd || chance(0.15)) {
                h.add(new String[] {"Content-Type", "application/json"});
            } else if (!chance(0.1)) {
                h.add(new String[] {"Content-Type", pick(CONTENT_TYPES)});
            }
            if (chance(0.08)) {
                h.add(new String[] {"Accept", pick(ACCEPTS)});
            }
            if (chance(0.08)) {
                h.add(new String[] {"Idempotency-Key", pick(List.of("key-" + r.nextInt(20), "", " ", "a b",
                        "x".repeat(201), "x".repeat(200), "\u00e9", "k\u0000", "\t", "key-" + r.nextInt(20)))});
            }
            return h;
        }

        Case jobCase(int n) {
            int kind = r.nextInt(100);
            String label;
            byte[] body;
            if (kind < 35) {
                label = "structured";
                body = structured().getBytes(StandardCharsets.UTF_8);
            } else if (kind < 65) {
                label = "mutated";
                body = mutated();
            } else if (kind < 75) {
                label = "value";
                body = value(0).getBytes(StandardCharsets.UTF_8);
            } else if (kind < 82) {
                label = "garbage";
                body = garbage();
            } else if (kind < 96) {
                label = "special";
                body = special().getBytes(StandardCharsets.UTF_8);
            } else {
                label = "valid";
                body = String.format(pick(VALID_BODIES), root).getBytes(StandardCharsets.UTF_8);
            }
            boolean oddType = chance(0.12);
            List<String[]> h = jobHeaders(oddType);
            boolean chunked = chance(0.1);
            return new Case(n, label + (oddType ? "+type" : ""), chance(0.01) ? "PUT" : "POST",
                    chance(0.03) ? pick(List.of("/api/jobs/", "/api/jobs?x=1", "/api//jobs", "/api/jobs;x=1",
                            "/api/jobs?x=%FF", "/api/jobs?%ED%A0%80=1", "/api/jobs?a=%zz&b=%"))
                            : "/api/jobs", h, body, chunked);
        }

        // -- query strings and paths --

        /** Percent-encodes the UTF-8 of s (lone surrogates become '?'), leaving unreserved characters. */
        static String enc(String s) {
            StringBuilder sb = new StringBuilder();
            for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
                int c = b & 0xff;
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'
                        || c == '_' || c == '~') {
                    sb.append((char) c);
                } else {
                    sb.append('%').append(String.format("%02X", c));
                }
            }
            return sb.toString();
        }

        /** Raw bits of URI text, already encoded (some of it invalid on purpose). */
        static final List<String> RAW = List.of("%", "%zz", "%ED%A0%80", "%C0%AE", "%FF", "+", "%2B", "%00", "%0A",
                "%0D%0A", "%25", "%2e%2e", "%E2%80%AE", "%F0%9F%98%80", "%C3%A9");

        String paramValue(List<String> good) {
            return switch (r.nextInt(10)) {
                case 0, 1, 2, 3 -> enc(pick(good));
                case 4 -> enc(rawString());
                case 5 -> pick(RAW);
                case 6 -> enc(pick(List.of("-1", "0", "99999999999", "2147483647", "2147483648", "-2147483648", "1e3",
                        " 5", "5 ", "0x10", "", "abc", "1.5", "\u0661", "NaN", "+5", "00001")));
                case 7 -> r.nextBoolean() ? "x".repeat(10 * 1024) : enc("\u00e9".repeat(2000 + r.nextInt(2000)));
                case 8 -> enc(pick(good)) + "," + enc(pick(good)) + pick(List.of(",", ",,", ""));
                default -> enc(letters(r.nextInt(300)));
            };
        }

        Case listCase(int n) {
            List<String> params = new ArrayList<>();
            Map<String, List<String>> good = Map.of(
                    "status", List.of("FAILED", "queued", "COMPLETED", "STOPPED", "Started", "bogus", "", "ALL", ","),
                    "q", List.of("x", "fuzz", "%", "_", "\\", "'", "' OR 1=1 --", "setup", "\u00e9", "\uD800",
                            "a".repeat(201), "a".repeat(200), "test-list", "0", ""),
                    "sort", List.of("created", "updated", "name", "operation", "status", "NAME", " name ", "id",
                            "created;drop", "1", ""),
                    "order", List.of("asc", "desc", "ASC", "up", "", "1"),
                    "page", List.of("0", "1", "-1", "2147483647", "99999999999", "x"),
                    "size", List.of("1", "100", "101", "0", "-5", "2147483647", "20"));
            for (String name : List.of("status", "q", "sort", "order", "page", "size")) {
                int repeat = chance(0.5) ? 0 : chance(0.85) ? 1 : 2 + r.nextInt(3);
                for (int i = 0; i < repeat; i++) {
                    params.add(name + "=" + paramValue(good.get(name)));
                }
            }
            if (chance(0.05)) {
                for (int i = 0; i < 1100; i++) {
                    params.add("a=1"); // past Tomcat's 1,000 parameters
                }
            }
            if (chance(0.05)) {
                params.add(pick(List.of("=", "==", "&&", "status", "size=", "page==1", enc(rawString()) + "=1", "%=%")));
            }
            Collections.shuffle(params, r);
            String path = pick(List.of("/api/jobs", "/api/jobs", "/api/jobs", "/api/jobs/")) + "?" + String.join("&", params);
            List<String[]> h = auth();
            if (chance(0.1)) {
                h.add(new String[] {"Accept", pick(ACCEPTS)});
            }
            return new Case(n, "list", chance(0.03) ? "HEAD" : "GET", path, h, null, false);
        }

        String idSegment(List<String> realIds) {
            return switch (r.nextInt(14)) {
                case 0, 1, 2, 3 -> pick(realIds);
                case 4 -> pick(List.of("nosuchjob", "0000000000000000", "zzzzzzzzzzzzzzzz", "bulk-restart", "~", "*",
                        "%20", "a%20b", "%27", "%22", "%3Cscript%3E", "1%27%20OR%20%271%27%3D%271", "null", "undefined"));
                case 5 -> pick(List.of("..", ".", "%2e%2e", "%2E%2E", ".%2e", "%2e"));
                case 6 -> pick(List.of("%00", "a%00b", "%0A", "a%0D%0Ab"));
                case 7 -> "a".repeat(200 + r.nextInt(5000));
                case 8 -> enc(rawString());
                case 9 -> pick(RAW);
                case 10 -> pick(List.of(";", ";x=1", "a;jsessionid=1", pick(realIds) + ";x=y", "%3B"));
                case 11 -> pick(List.of("%2F", "..%2F..%2F", "a%5Cb", "%5C"));
                case 12 -> pick(realIds).toUpperCase();
                default -> enc(letters(1 + r.nextInt(30)));
            };
        }

        String fileSegment() {
            return switch (r.nextInt(10)) {
                case 0, 1 -> pick(List.of("files.txt", "nested/dir/count.txt", "job-report.json"));
                case 2 -> pick(List.of("..", "../../x", "%2e%2e/%2e%2e/etc/passwd", "nested/%2e%2e/%2e%2e/x",
                        "nested//count.txt", "./files.txt", "nested/", "nested", "files.txt/", ".", "%2e"));
                case 3 -> pick(List.of("a%00b", "files.txt%00.png", "%00"));
                case 4 -> "f".repeat(250 + r.nextInt(5000));
                case 5 -> enc(rawString());
                case 6 -> pick(RAW);
                case 7 -> "nested/" + "d/".repeat(r.nextInt(300)) + "x";
                case 8 -> pick(List.of("%2F", "..%2Fx", "a%5C..%5Cb"));
                default -> "";
            };
        }

        static final List<String> METHODS = List.of("GET", "GET", "GET", "GET", "GET", "POST", "POST", "POST", "PUT",
                "DELETE", "PATCH", "HEAD", "OPTIONS");

        Case endpointCase(int n, List<String> realIds) {
            String id = idSegment(realIds);
            String suffix = switch (r.nextInt(14)) {
                case 0 -> "";
                case 1 -> "/";
                case 2 -> "/stop";
                case 3 -> "/restart";
                case 4 -> "/abandon";
                case 5 -> "/output";
                case 6, 7 -> "/output/" + fileSegment();
                case 8 -> "/events";
                case 9 -> "/throughput";
                case 10 -> pick(List.of("/x", "//stop", "/stop/", "/STOP", "/output//", "/events/x", "/throughput/1"));
                default -> pick(List.of("/stop", "/restart", "/abandon", "/output", "/events", "/throughput", ""));
            };
            String method = pick(METHODS);
            if (suffix.equals("/events") && realIds.contains(id) && method.equals("HEAD")) {
                method = "GET";
            }
            List<String[]> h = auth();
            if (chance(0.3)) {
                h.add(new String[] {"Accept", suffix.equals("/events") && chance(0.7) ? "text/event-stream" : pick(ACCEPTS)});
            }
            byte[] body = null;
            if (!method.equals("GET") && !method.equals("HEAD") && chance(0.3)) {
                h.add(new String[] {"Content-Type", chance(0.7) ? "application/json" : pick(CONTENT_TYPES)});
                body = value(0).getBytes(StandardCharsets.UTF_8);
            }
            String path = "/api/jobs/" + id + suffix + (chance(0.08) ? "?" + enc(rawString()) + "=" + enc(rawString())
                    + (chance(0.5) ? "&" + pick(RAW) + "=" + pick(RAW) : "") : "");
            return new Case(n, "endpoint", method, path, h, body, false);
        }

        Case bulkCase(int n, List<String> realIds) {
            String body = switch (r.nextInt(10)) {
                case 0, 1 -> {
                    List<String> ids = new ArrayList<>();
                    int count = r.nextInt(6);
                    for (int i = 0; i < count; i++) {
                        ids.add(chance(0.3) ? "\"" + pick(realIds) + "\"" : chance(0.7) ? string() : value(1));
                    }
                    yield "{\"ids\":[" + String.join(",", ids) + "]}";
                }
                case 2 -> "{\"status\":" + pick(List.of("\"FAILED\"", "\"STOPPED\"", "\"stopped\"", "\"COMPLETED\"",
                        "\"\"", "\" \"", "null", "1", "[]", "{}", string())) + "}";
                case 3 -> "{\"ids\":[\"" + pick(realIds) + "\"],\"status\":\"FAILED\"}";
                case 4 -> "{\"ids\":[" + String.join(",", Collections.nCopies(450 + r.nextInt(200),
                        "\"" + letters(8) + "\"")) + "]}";
                case 5 -> "{\"ids\":" + value(0) + (chance(0.5) ? ",\"status\":" + value(0) : "") + "}";
                case 6 -> object(0);
                case 7 -> value(0);
                case 8 -> new String(mutatedBulk(), StandardCharsets.ISO_8859_1);
                default -> pick(List.of("", "{}", "{\"ids\":[]}", "{\"ids\":null,\"status\":null}", "{\"ids\":[null]}",
                        "{\"ids\":[\"\"]}", "{\"ids\":[\" \"]}", "{\"ids\":\"" + pick(realIds) + "\"}",
                        "{\"ids\":[[\"a\"]]}", "{\"ids\":[{}]}", "{\"ids\":[1,2]}", "{\"ids\":[true]}",
                        "{\"status\":\"FAILED\",\"status\":\"STOPPED\"}", "{\"x\":1}", "[]", "null",
                        "{\"ids\":[\"" + pick(realIds) + "\",\"" + pick(realIds) + "\"]}",
                        "{\"ids\":" + "[".repeat(1000) + "]".repeat(1000) + "}"));
            };
            byte[] bytes = body.getBytes(r.nextInt(8) == 8 - 1 && body.chars().allMatch(c -> c < 256)
                    ? StandardCharsets.ISO_8859_1 : StandardCharsets.UTF_8);
            boolean odd = chance(0.1);
            List<String[]> h = jobHeaders(odd);
            return new Case(n, "bulk" + (odd ? "+type" : ""), "POST", "/api/jobs/bulk-restart", h, bytes, chance(0.05));
        }

        byte[] mutatedBulk() {
            byte[] b = "{\"ids\":[\"0000000000000000\"],\"status\":null}".getBytes(StandardCharsets.ISO_8859_1);
            int at = r.nextInt(b.length);
            b[at] = (byte) r.nextInt(256);
            return b;
        }
    }
}

package io.ringbatch.api;

import static io.ringbatch.api.ApiHttp.assertInvalid;
import static io.ringbatch.api.ApiHttp.assertProblem;
import static io.ringbatch.api.ApiHttp.json;
import static org.assertj.core.api.Assertions.assertThat;

import io.ringbatch.ServiceTest;
import io.ringbatch.TestDirs;
import io.ringbatch.io.Dir;
import io.ringbatch.io.FileNames;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;

/**
 * Downloads by descriptor over real HTTP: a name that is not UTF-8 is listed as display + base64 and
 * downloaded byte for byte through {@code ?path=}; a finished job's output directory replaced by a link
 * to a directory outside serves and lists nothing; a download of a missing file names it in the 404's
 * detail on one line, bytes that are not UTF-8 and control characters as {@code \xHH}.
 */
@ServiceTest
@Timeout(120)
class OutputDownloadTest {
    /** "caf\xE9 r\xE9sum\xE9.txt" in Latin-1: not UTF-8. */
    static final byte[] LATIN1 = {'c', 'a', 'f', (byte) 0xE9, ' ', 'r', (byte) 0xE9, 's', 'u', 'm', (byte) 0xE9, '.',
            't', 'x', 't'};
    static Path tree;
    static Path outside;

    @LocalServerPort
    int port;

    ApiHttp http;

    @BeforeAll
    static void files() throws IOException {
        tree = Files.createDirectories(TestDirs.input().resolve("OutputDownloadTest/tree"));
        Files.writeString(tree.resolve("a.txt"), "alpha\n");
        outside = Files.createDirectories(TestDirs.shared().resolve("OutputDownloadTest-outside"));
        Files.writeString(outside.resolve("secret.txt"), "not for viewers\n");
    }

    @BeforeEach
    void client() {
        http = new ApiHttp(port);
    }

    @Test
    void aNameThatIsNotUtf8IsListedAsDisplayAndBase64AndDownloadsByteForByte() throws Exception {
        String id = http.submit(JobApiTest.job(tree.toString())).path("id").asString();
        http.awaitStatus(id, "COMPLETED", 60);
        Path out = TestDirs.output().resolve(id);
        // a file with that name in the output, written by descriptor (a Path cannot carry the bytes)
        byte[] content = {0, 1, 2, (byte) 0xff, '\n'};
        try (Dir dir = Dir.open(out)) {
            dir.mkdir("sub", 0755);
            int fd = dir.openFd("sub/" + FileNames.of(LATIN1), Dir.O_WRONLY | Dir.O_CREAT, 0644);
            try (FileChannel ch = FileChannel.open(Dir.procPath(fd), StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(content));
            } finally {
                Dir.closeFd(fd);
            }
        }
        String bytes = "sub/" + FileNames.of(LATIN1);
        String base64 = Base64.getUrlEncoder().withoutPadding().encodeToString(FileNames.raw(bytes));

        for (JsonNode files : new JsonNode[] {json(http.get("/api/jobs/" + id + "/output")).path("files"),
                http.job(id).path("output").path("files")}) {
            assertThat(files).anySatisfy(f -> {
                assertThat(f.path("name").asString()).isEqualTo("sub/caf\\xE9 r\\xE9sum\\xE9.txt");
                assertThat(f.path("nameBase64").asString()).isEqualTo(base64);
                assertThat(f.path("size").asLong()).isEqualTo(content.length);
            });
        }
        for (String url : new String[] {"/api/jobs/" + id + "/output-file?path=" + base64,
                "/api/jobs/" + id + "/output?path=" + base64}) {
            HttpResponse<byte[]> download = http.client().send(http.admin(url).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertThat(download.statusCode()).as(url).isEqualTo(200);
            assertThat(download.body()).isEqualTo(content);
            assertThat(download.headers().firstValue("Content-Disposition")).hasValueSatisfying(
                    d -> assertThat(d).startsWith("attachment").contains("filename*=UTF-8''caf%5CxE9"));
        }
        // a nested name by the new form too, and the path form still serves valid names
        String nested = Base64.getUrlEncoder().withoutPadding().encodeToString("nested/dir/count.txt".getBytes());
        assertThat(http.get("/api/jobs/" + id + "/output-file?path=" + nested).body()).isEqualTo("1\n");
        assertThat(http.get("/api/jobs/" + id + "/output/nested/dir/count.txt").body()).isEqualTo("1\n");

        assertInvalid(http.get("/api/jobs/" + id + "/output-file?path=not*base64"), "path");
        String escape = Base64.getUrlEncoder().encodeToString("../../outside/secret.txt".getBytes());
        assertInvalid(http.get("/api/jobs/" + id + "/output-file?path=" + escape), "path");
        assertProblem(http.get("/api/jobs/" + id + "/output-file?path=" + Base64.getUrlEncoder()
                .encodeToString("missing.txt".getBytes())), 404);
    }

    @Test
    void aMissingOutputIsNamedInTheProblemDetailOnOneLineWithEscapes() throws Exception {
        String id = http.submit(JobApiTest.job(tree.toString())).path("id").asString();
        http.awaitStatus(id, "COMPLETED", 60);
        // each name's bytes, and how the 404's detail must show it (FileNames.inMessage), written out
        Map<String, String> names = new LinkedHashMap<>();
        names.put(FileNames.of(LATIN1), "caf\\xE9 r\\xE9sum\\xE9.txt");
        names.put(FileNames.of(new byte[] {'b', 'a', 'd', (byte) 0xC3, '(', (byte) 0x80, (byte) 0xFF}),
                "bad\\xC3(\\x80\\xFF");
        names.put("sub/new\nline.txt", "sub/new\\x0Aline.txt");
        names.put("tab\there\r.txt", "tab\\x09here\\x0D.txt");
        names.put(FileNames.ofText("naïve café.txt"), "naïve café.txt");
        for (Map.Entry<String, String> name : names.entrySet()) {
            String base64 = Base64.getUrlEncoder().withoutPadding().encodeToString(FileNames.raw(name.getKey()));
            for (String url : new String[] {"/api/jobs/" + id + "/output-file?path=" + base64,
                    "/api/jobs/" + id + "/output?path=" + base64}) {
                String detail = assertProblem(http.get(url), 404).path("detail").asString();
                assertThat(detail).as(url).isEqualTo("job " + id + " has no output file '" + name.getValue() + "'");
                assertThat(Pattern.compile("\\R").matcher(detail).find()).as(detail).isFalse();
                assertThat(detail.chars().noneMatch(Character::isISOControl)).as(detail).isTrue();
                assertThat(detail).doesNotContain("\uFFFD");
            }
        }
    }

    @Test
    void anOutputDirectoryReplacedByALinkServesAndListsNothing() throws Exception {
        String id = http.submit(JobApiTest.job(tree.toString())).path("id").asString();
        http.awaitStatus(id, "COMPLETED", 60);
        Path out = TestDirs.output().resolve(id);
        Files.move(out, out.resolveSibling(id + ".moved"));
        Files.createSymbolicLink(out, outside);

        String secret = Base64.getUrlEncoder().withoutPadding().encodeToString("secret.txt".getBytes());
        // both ways beneath the root: openat2, and component by component with O_NOFOLLOW
        for (String openat2 : new String[] {"true", "false"}) {
            System.setProperty("ringbatch.io.openat2", openat2);
            try {
                JsonNode problem = assertProblem(http.get("/api/jobs/" + id + "/output/secret.txt"), 404);
                assertThat(problem.toString()).doesNotContain("not for viewers");
                for (String url : new String[] {"/api/jobs/" + id + "/output-file?path=" + secret,
                        "/api/jobs/" + id + "/output?path=" + secret}) {
                    HttpResponse<String> response = http.get(url);
                    assertProblem(response, 404);
                    assertThat(response.body()).doesNotContain("not for viewers");
                }
                JsonNode listing = json(http.get("/api/jobs/" + id + "/output"));
                assertThat(listing.path("exists").asBoolean()).isFalse();
                assertThat(listing.path("files").size()).isZero();
                assertThat(http.job(id).path("output").path("files").size()).isZero();
            } finally {
                System.clearProperty("ringbatch.io.openat2");
            }
        }
    }
}

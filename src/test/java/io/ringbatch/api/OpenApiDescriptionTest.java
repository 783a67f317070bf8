package io.ringbatch.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.ringbatch.ServiceTest;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.Operation;
import io.swagger.v3.oas.models.media.Content;
import io.swagger.v3.parser.OpenAPIV3Parser;
import io.swagger.v3.parser.core.models.ParseOptions;
import io.swagger.v3.parser.core.models.SwaggerParseResult;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.SerializationFeature;

/**
 * The description at {@code /v3/api-docs} as standard tools read it: the reference parser finds nothing
 * wrong with it, every operation says what it returns on success, every error is the one problem schema,
 * and the committed copy in {@code docs/openapi.json} (which the client in the tests is generated from and
 * which {@code .ci/run} lints) is what the service serves. When the copy changes, this test rewrites it
 * and fails once; a change that renames what GeneratedClientIT calls compiles only after that, so run this
 * test first with the IT's edit set aside.
 */
@ServiceTest
class OpenApiDescriptionTest {
    static final Path COMMITTED = Path.of("docs/openapi.json");

    static String served;
    static OpenAPI api;

    @BeforeAll
    static void fetch(@LocalServerPort int port) throws Exception {
        ApiHttp http = new ApiHttp(port);
        HttpResponse<String> response = http.send(http.request("/v3/api-docs")
                .header("Authorization", ApiHttp.basic("viewer", ApiHttp.VIEWER_PW)).GET());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        served = ApiHttp.JSON.rebuild().enable(SerializationFeature.INDENT_OUTPUT).build()
                .writeValueAsString(ApiHttp.JSON.readTree(response.body())) + "\n";
        ParseOptions options = new ParseOptions();
        options.setResolve(true); // every $ref is followed, so a dangling one is a message too
        SwaggerParseResult result = new OpenAPIV3Parser().readContents(served, null, options);
        assertThat(result.getMessages()).as("swagger-parser's messages").isEmpty();
        api = result.getOpenAPI();
    }

    @Test
    void theCommittedCopyIsWhatTheServiceServes() throws Exception {
        String committed = Files.exists(COMMITTED) ? Files.readString(COMMITTED, StandardCharsets.UTF_8) : "";
        if (!committed.equals(served)) {
            // rewritten so that the change shows in git diff and is committed with the code that made it
            Files.writeString(COMMITTED, served, StandardCharsets.UTF_8);
            fail(COMMITTED.toAbsolutePath() + " differed from /v3/api-docs; it has been rewritten: review and "
                    + "commit it");
        }
    }

    @Test
    void everyOperationSaysWhatItReturnsAndEveryErrorIsAProblem() {
        assertThat(api.getServers()).singleElement().satisfies(s -> assertThat(s.getUrl()).isEqualTo("/"));
        assertThat(api.getInfo().getContact()).isNotNull();
        List<String> seen = new ArrayList<>();
        api.getPaths().forEach((path, item) -> item.readOperationsMap().forEach((method, operation) -> {
            String name = method + " " + path;
            seen.add(name);
            assertThat(operation.getResponses().keySet()).as(name).anyMatch(code -> code.startsWith("2"));
            assertThat(operation.getDescription()).as(name).containsPattern("Role: (VIEWER|OPERATOR)");
            operation.getResponses().forEach((code, response) -> {
                String where = name + " " + code;
                Content content = response.getContent();
                if (content != null) {
                    assertThat(content.keySet()).as(where).doesNotContain("*/*");
                }
                if (!code.startsWith("2")) {
                    assertThat(content).as(where).isNotNull();
                    assertThat(content.keySet()).as(where).containsExactly("application/problem+json");
                    assertThat(content.get("application/problem+json").getSchema().get$ref()).as(where)
                            .isEqualTo("#/components/schemas/Problem");
                }
                if (response.getHeaders() != null) {
                    response.getHeaders().forEach((header, h) -> assertThat(h.getSchema()).as(where + " " + header)
                            .isNotNull());
                }
            });
        }));
        assertThat(seen).contains("GET /api/jobs/{id}/events", "POST /api/jobs");
        Operation events = api.getPaths().get("/api/jobs/{id}/events").getGet();
        assertThat(events.getResponses().get("200").getContent().keySet()).containsExactly("text/event-stream");
        assertThat(api.getComponents().getSchemas().get("Problem").getProperties().keySet())
                .contains("type", "title", "status", "detail", "instance", "field", "errors");
        assertThat(api.getComponents().getSecuritySchemes().get("basic").getScheme()).isEqualTo("basic");
        assertThat(api.getSecurity()).singleElement().satisfies(r -> assertThat(r).containsKey("basic"));
    }

}

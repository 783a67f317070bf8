package io.ringbatch.api;

import io.swagger.v3.oas.annotations.OpenAPIDefinition;
import io.swagger.v3.oas.annotations.enums.SecuritySchemeType;
import io.swagger.v3.oas.annotations.info.Contact;
import io.swagger.v3.oas.annotations.info.Info;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import io.swagger.v3.oas.annotations.security.SecurityScheme;
import io.swagger.v3.oas.annotations.servers.Server;
import io.swagger.v3.oas.models.Operation;
import io.swagger.v3.oas.models.PathItem;
import io.swagger.v3.oas.models.headers.Header;
import io.swagger.v3.oas.models.media.ArraySchema;
import io.swagger.v3.oas.models.media.Content;
import io.swagger.v3.oas.models.media.IntegerSchema;
import io.swagger.v3.oas.models.media.MediaType;
import io.swagger.v3.oas.models.media.ObjectSchema;
import io.swagger.v3.oas.models.media.Schema;
import io.swagger.v3.oas.models.media.StringSchema;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.oas.models.responses.ApiResponses;
import java.util.List;
import java.util.Map;
import org.springdoc.core.customizers.OpenApiCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.PropertySource;

/**
 * The OpenAPI description at {@code /v3/api-docs} (and Swagger UI at {@code /swagger-ui.html}), both
 * behind the login like everything else; any logged-in user may read them. Their switches
 * ({@code springdoc.*}) default to on in {@code io/ringbatch/api/springdoc.properties}.
 * <p>
 * The controllers say what each operation returns on success and which errors are its own (409, 422,
 * 429...); {@link #problems()} adds what every operation shares, the way the security configuration and
 * {@link ApiExceptionHandler} really answer: 401 without a login, 403 for a viewer who changes something,
 * 404 for an unknown job, 400 for a bad parameter, every error as the one {@code Problem} schema in
 * {@code application/problem+json}. The server URL is relative ({@code /}), so the description holds
 * behind any host, port or Ingress.
 */
@Configuration(proxyBeanMethods = false)
@PropertySource("classpath:io/ringbatch/api/springdoc.properties")
@OpenAPIDefinition(
        info = @Info(title = "ringbatch", version = "v1", description = "Bulk file-processing jobs on Spring Batch, "
                + "fed by io_uring. Errors are RFC 9457 problems (application/problem+json); validation errors "
                + "name the first offending field in 'field' and all of them in 'errors'.",
                contact = @Contact(name = "ringbatch", url = "https://github.com/ringbatch/ringbatch")),
        servers = @Server(url = "/", description = "the service itself, wherever it is reached"),
        security = @SecurityRequirement(name = "basic"))
@SecurityScheme(name = "basic", type = SecuritySchemeType.HTTP, scheme = "basic",
        description = "admin (VIEWER and OPERATOR) or viewer (VIEWER: read only)")
public class OpenApiConfiguration {
    static final String PROBLEM_JSON = "application/problem+json";
    static final String PROBLEM_REF = "#/components/schemas/Problem";

    @Bean
    OpenApiCustomizer problems() {
        return api -> {
            api.getComponents().addSchemas("FieldError", fieldError());
            api.getComponents().addSchemas("Problem", problem());
            // springdoc's guess from the handlers' return type; the streams are described as text instead
            api.getComponents().getSchemas().remove("SseEmitter");
            api.getPaths().forEach((path, item) -> item.readOperationsMap()
                    .forEach((method, operation) -> complete(path, method, operation)));
        };
    }

    private static void complete(String path, PathItem.HttpMethod method, Operation operation) {
        boolean read = method == PathItem.HttpMethod.GET;
        String role = read ? "Role: VIEWER (or OPERATOR)." : "Role: OPERATOR.";
        String description = operation.getDescription();
        if (description == null || !description.contains(role)) { // the same whether springdoc caches or not
            operation.setDescription(description == null ? role : description + "\n\n" + role);
        }

        ApiResponses responses = operation.getResponses();
        responses.remove("4XX");
        // a job id that is not one is simply not found (404); query parameters, headers and bodies are checked
        if (operation.getRequestBody() != null || operation.getParameters() != null
                && operation.getParameters().stream().anyMatch(p -> !"path".equals(p.getIn()))) {
            responses.putIfAbsent("400", new ApiResponse().description("a parameter or the body is not valid"));
        }
        responses.putIfAbsent("401", new ApiResponse().description("not logged in, or a wrong password"));
        if (!read) {
            responses.putIfAbsent("403", new ApiResponse().description("the caller lacks the role OPERATOR"));
        }
        if (path.contains("{id}")) {
            responses.putIfAbsent("404", new ApiResponse().description("no such job"));
        }
        if (streams(responses)) {
            responses.putIfAbsent("503", new ApiResponse().description("too many event streams are open, or the "
                    + "service is shutting down; see Retry-After").headers(Map.of("Retry-After", new Header()
                    .description("seconds"))));
        }
        responses.forEach((code, response) -> {
            if (code.startsWith("2")) {
                success(response);
            } else {
                // whatever springdoc guessed from the handler's return type: every error is a problem
                response.setContent(new Content().addMediaType(PROBLEM_JSON,
                        new MediaType().schema(new Schema<>().$ref(PROBLEM_REF))));
            }
            if (response.getHeaders() != null) {
                response.getHeaders().forEach((name, header) -> header(name, header));
            }
        });
    }

    private static boolean streams(ApiResponses responses) {
        ApiResponse ok = responses.get("200");
        return ok != null && ok.getContent() != null
                && ok.getContent().containsKey(org.springframework.http.MediaType.TEXT_EVENT_STREAM_VALUE);
    }

    /** A body springdoc left as {@code * / *} is JSON: every API handler writes JSON unless it says otherwise. */
    private static void success(ApiResponse response) {
        Content content = response.getContent();
        if (content != null && content.containsKey("*/*")) {
            MediaType any = content.remove("*/*");
            content.putIfAbsent(org.springframework.http.MediaType.APPLICATION_JSON_VALUE, any);
        }
        if (content != null && content.containsKey(org.springframework.http.MediaType.TEXT_EVENT_STREAM_VALUE)) {
            content.get(org.springframework.http.MediaType.TEXT_EVENT_STREAM_VALUE).setSchema(new StringSchema()
                    .description("'event: <name>' and 'data: <JSON>' lines, a blank line after each event"));
        }
    }

    private static void header(String name, Header header) {
        if (header.getSchema() == null && header.get$ref() == null) {
            header.setSchema(switch (name) {
                case "Retry-After" -> new IntegerSchema().minimum(java.math.BigDecimal.ZERO);
                case "Location" -> new StringSchema().format("uri-reference");
                default -> new StringSchema();
            });
        }
    }

    /** What {@link FieldError} serializes to. */
    private static Schema<?> fieldError() {
        return new ObjectSchema()
                .description("one thing wrong with a request")
                .addProperty("field", new StringSchema().description("where: a JSON path into the body "
                        + "(input.include[1], params.pattern), a query parameter or a header name"))
                .addProperty("reason", new StringSchema().description("what is wrong, for a person to read"))
                .required(List.of("field", "reason"));
    }

    /**
     * What {@link Problems} writes: Spring's {@code ProblemDetail} with {@code field} and {@code errors} on
     * validation errors. {@code type} is left out, meaning {@code about:blank}.
     */
    private static Schema<?> problem() {
        return new ObjectSchema()
                .description("an RFC 9457 problem")
                .addProperty("type", new StringSchema().format("uri-reference")._default("about:blank"))
                .addProperty("title", new StringSchema().description("the status's reason phrase"))
                .addProperty("status", new IntegerSchema().description("the HTTP status"))
                .addProperty("detail", new StringSchema().description("what went wrong, for a person to read"))
                .addProperty("instance", new StringSchema().format("uri-reference")
                        .description("the request's path"))
                .addProperty("field", new StringSchema().description("validation errors: the first offending "
                        + "field"))
                .addProperty("errors", new ArraySchema().items(new Schema<>().$ref("#/components/schemas/FieldError"))
                        .description("validation errors: every offending field"))
                .required(List.of("title", "status", "detail"));
    }

}

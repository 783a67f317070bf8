package io.ringbatch.api;

import io.swagger.v3.oas.annotations.OpenAPIDefinition;
import io.swagger.v3.oas.annotations.enums.SecuritySchemeType;
import io.swagger.v3.oas.annotations.info.Info;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import io.swagger.v3.oas.annotations.security.SecurityScheme;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.PropertySource;

/**
 * The OpenAPI description at {@code /v3/api-docs} (and Swagger UI at {@code /swagger-ui.html}), both
 * behind the login like everything else; any logged-in user may read them. Their switches
 * ({@code springdoc.*}) default to on in {@code io/ringbatch/api/springdoc.properties}.
 */
@Configuration(proxyBeanMethods = false)
@PropertySource("classpath:io/ringbatch/api/springdoc.properties")
@OpenAPIDefinition(
        info = @Info(title = "ringbatch", version = "v1", description = "Bulk file-processing jobs on Spring Batch, "
                + "fed by io_uring. Errors are RFC 9457 problems (application/problem+json); validation errors "
                + "name the first offending field in 'field' and all of them in 'errors'."),
        security = @SecurityRequirement(name = "basic"))
@SecurityScheme(name = "basic", type = SecuritySchemeType.HTTP, scheme = "basic",
        description = "admin (VIEWER and OPERATOR) or viewer (VIEWER: read only)")
public class OpenApiConfiguration {
}

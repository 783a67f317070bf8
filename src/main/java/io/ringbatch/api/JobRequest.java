package io.ringbatch.api;

import io.swagger.v3.oas.annotations.media.Schema;
import java.util.List;
import java.util.Map;

/**
 * The body of {@code POST /api/jobs}, as submitted. Unknown fields are refused (400 naming them), and so
 * are values of the wrong JSON type; no value is coerced (the string {@code "true"} is not a boolean).
 *
 * @param name      a label for people (at most 200 characters); optional
 * @param operation one of {@code GET /api/operations}
 * @param params    the operation's parameters; optional, the operation fills in defaults
 * @param input     what to read
 * @param output    where the results go; optional
 * @param options   optional switches
 */
@Schema(name = "JobRequest", description = "A job to run")
public record JobRequest(
        @Schema(description = "A label for people", maxLength = 200, example = "nightly checksums") String name,
        @Schema(description = "The operation's name (see GET /api/operations)", requiredMode = Schema.RequiredMode.REQUIRED,
                example = "checksum") String operation,
        @Schema(description = "The operation's parameters; absent ones take their defaults",
                example = "{\"algorithm\": \"sha256\"}") Map<String, Object> params,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) Input input,
        Output output,
        Options options) {

    /**
     * @param root    a directory inside one of {@code ringbatch.input-roots} (after resolving {@code ..} and
     *                symbolic links); a relative path is taken relative to the first input root
     * @param include glob patterns relative to the root; a file is read if it matches one (none: every file)
     * @param exclude glob patterns relative to the root; a file that matches one is not read
     */
    @Schema(name = "JobInput")
    public record Input(
            @Schema(description = "A directory inside one of ringbatch.input-roots; relative paths are taken "
                    + "relative to the first input root", requiredMode = Schema.RequiredMode.REQUIRED,
                    example = "/data/input/logs") String root,
            @Schema(description = "Glob patterns relative to the root (java.nio PathMatcher syntax); none: every file",
                    example = "[\"**.log\"]") List<String> include,
            @Schema(description = "Glob patterns relative to the root of files not to read") List<String> exclude) {
    }

    /** @param path a directory inside {@code ringbatch.output-root} that does not exist yet, or is empty */
    @Schema(name = "JobOutput")
    public record Output(
            @Schema(description = "A directory inside ringbatch.output-root that does not exist yet or is empty; "
                    + "relative paths are taken relative to the output root. Default: <output-root>/<job id>")
            String path) {
    }

    /** @param skipUnreadable list unreadable or changed files in the report instead of failing the job */
    @Schema(name = "JobOptions")
    public record Options(
            @Schema(description = "List unreadable or changed files in job-report.json instead of failing the job",
                    defaultValue = "false") Boolean skipUnreadable) {
    }

    public static final List<String> FIELDS = List.of("name", "operation", "params", "input", "output", "options");
    public static final List<String> INPUT_FIELDS = List.of("root", "include", "exclude");
    public static final List<String> OUTPUT_FIELDS = List.of("path");
    public static final List<String> OPTIONS_FIELDS = List.of("skipUnreadable");
}

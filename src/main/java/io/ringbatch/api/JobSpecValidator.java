package io.ringbatch.api;

import io.ringbatch.batch.Glob;
import io.ringbatch.config.RingbatchProperties;
import io.ringbatch.io.FileNames;
import io.ringbatch.operation.InvalidParameterException;
import io.ringbatch.operation.Operation;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.PatternSyntaxException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.stereotype.Component;

/**
 * Checks a submitted {@link JobRequest} and resolves it into what the runner gets: the operation known
 * and its parameters accepted by it, the input root a real directory inside {@code ringbatch.input-roots},
 * the globs valid, the output directory inside {@code ringbatch.output-root}, new or empty, apart from the
 * input. Paths are compared after resolving {@code ..} and symbolic links; a path that is outside the
 * roots as written is refused before the file system is asked anything about it.
 */
@Component
public class JobSpecValidator {
    private static final Logger log = LoggerFactory.getLogger(JobSpecValidator.class);
    static final int MAX_NAME = 200;
    static final int MAX_GLOBS = 1000;
    static final int MAX_GLOB_LENGTH = 1000;
    /** Below PATH_MAX (4096) with room for the staging directory's name and the files inside. */
    static final int MAX_OUTPUT_PATH_BYTES = 3900;
    /** NAME_MAX (255) less what the staging directory adds: "." and ".ringbatch-staging". */
    static final int MAX_OUTPUT_NAME_BYTES = 255 - 19;

    private final RingbatchProperties properties;
    private final ObjectProvider<Operation> operationBeans;

    public JobSpecValidator(RingbatchProperties properties, ObjectProvider<Operation> operationBeans) {
        this.properties = properties;
        this.operationBeans = operationBeans;
    }

    /** What a valid request resolves to. */
    public record Resolved(String name, String operation, Map<String, String> params, Path inputRoot,
                           List<String> include, List<String> exclude, Path outputPath, boolean skipUnreadable) {
    }

    /** The operations by name, sorted. */
    public Map<String, Operation> operations() {
        Map<String, Operation> byName = new TreeMap<>();
        operationBeans.orderedStream().forEach(op -> byName.putIfAbsent(op.name(), op));
        return byName;
    }

    /**
     * @param jobId the id the job will get, for the default output path
     * @throws ApiException 400 naming every field found wrong
     */
    public Resolved validate(JobRequest request, String jobId) {
        List<FieldError> errors = new ArrayList<>();
        String name = request.name();
        if (name != null && name.length() > MAX_NAME) {
            errors.add(new FieldError("name", "must be at most " + MAX_NAME + " characters"));
        }

        Map<String, String> params = null;
        Operation operation = null;
        if (request.operation() == null || request.operation().isBlank()) {
            errors.add(new FieldError("operation", "is required; one of: " + String.join(", ", operations().keySet())));
        } else {
            operation = operations().get(request.operation());
            if (operation == null) {
                errors.add(new FieldError("operation", "unknown operation '" + request.operation() + "'; known: "
                        + String.join(", ", operations().keySet())));
            }
        }
        if (operation != null) {
            params = params(operation, request.params(), errors);
        }

        Path inputRoot = null;
        List<String> include = List.of();
        List<String> exclude = List.of();
        JobRequest.Input input = request.input();
        if (input == null) {
            errors.add(new FieldError("input", "is required: {\"root\": \"<a directory inside the input roots>\"}"));
        } else {
            inputRoot = inputRoot(input.root(), errors);
            include = globs(input.include(), "input.include", errors);
            exclude = globs(input.exclude(), "input.exclude", errors);
        }

        Path outputPath = outputPath(request.output() == null ? null : request.output().path(), jobId, inputRoot,
                errors);

        if (!errors.isEmpty()) {
            throw ApiException.invalid(errors);
        }
        boolean skip = request.options() != null && Boolean.TRUE.equals(request.options().skipUnreadable());
        return new Resolved(name, operation.name(), params, inputRoot, include, exclude, outputPath, skip);
    }

    private Map<String, String> params(Operation operation, Map<String, Object> given, List<FieldError> errors) {
        try {
            Map<String, String> normalised = operation.validate(given == null ? Map.of() : given);
            return normalised == null ? Map.of() : Map.copyOf(normalised);
        } catch (InvalidParameterException e) {
            String field = e.field() == null || e.field().isBlank() ? "params" : "params." + e.field();
            errors.add(new FieldError(field, e.reason() == null ? "is not valid" : e.reason()));
        } catch (RuntimeException e) {
            // the operation's own bug, but caused by this input: still a 400, and no internals in it
            log.warn("operation {} failed to validate parameters {}", operation.name(), given, e);
            errors.add(new FieldError("params", "not accepted by operation '" + operation.name() + "'"));
        }
        return null;
    }

    // ---- input ---------------------------------------------------------------------------------------

    private Path inputRoot(String root, List<FieldError> errors) {
        String field = "input.root";
        if (root == null || root.isBlank()) {
            errors.add(new FieldError(field, "is required: a directory inside " + roots()));
            return null;
        }
        Path path = parse(root, field, errors);
        if (path == null) {
            return null;
        }
        if (!path.isAbsolute()) {
            path = properties.inputRoots().get(0).resolve(path);
        }
        path = path.normalize();
        List<Path> realRoots = new ArrayList<>();
        boolean inside = false;
        for (Path configured : properties.inputRoots()) {
            Path real = realOrNull(configured);
            if (real != null) {
                realRoots.add(real);
            }
            if (path.startsWith(configured) || (real != null && path.startsWith(real))) {
                inside = true;
            }
        }
        if (!inside) {
            // refused as written: nothing outside the roots is looked at, not even whether it exists
            errors.add(new FieldError(field, "must lie inside one of the input roots " + roots()));
            return null;
        }
        Path real;
        try {
            real = path.toRealPath();
        } catch (NoSuchFileException e) {
            errors.add(new FieldError(field, "does not exist"));
            return null;
        } catch (AccessDeniedException e) {
            errors.add(new FieldError(field, "cannot be read by the service (permission denied)"));
            return null;
        } catch (IOException e) {
            errors.add(new FieldError(field, "cannot be resolved"));
            return null;
        }
        if (realRoots.stream().noneMatch(real::startsWith)) {
            errors.add(new FieldError(field, "leads (through a symbolic link) outside the input roots " + roots()));
            return null;
        }
        if (!Files.isDirectory(real)) {
            errors.add(new FieldError(field, "is not a directory"));
            return null;
        }
        return real;
    }

    private static List<String> globs(List<String> globs, String field, List<FieldError> errors) {
        if (globs == null) {
            return List.of();
        }
        if (globs.size() > MAX_GLOBS) {
            errors.add(new FieldError(field, "must hold at most " + MAX_GLOBS + " patterns"));
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < globs.size(); i++) {
            String glob = globs.get(i);
            String at = field + "[" + i + "]";
            if (glob == null || glob.isBlank()) {
                errors.add(new FieldError(at, "must not be empty"));
            } else if (glob.length() > MAX_GLOB_LENGTH) {
                errors.add(new FieldError(at, "must be at most " + MAX_GLOB_LENGTH + " characters"));
            } else if (glob.startsWith("/")) {
                errors.add(new FieldError(at, "must be relative to the input root (paths are matched relative to it)"));
            } else {
                try {
                    // the planner's own matcher, so that what is accepted here is what the plan step can match
                    Glob.compile(FileNames.ofText(glob));
                    out.add(glob);
                } catch (PatternSyntaxException e) {
                    errors.add(new FieldError(at, "is not a valid glob: " + e.getDescription() + " at index "
                            + e.getIndex()));
                }
            }
        }
        return out;
    }

    // ---- output --------------------------------------------------------------------------------------

    private Path outputPath(String given, String jobId, Path inputRoot, List<FieldError> errors) {
        String field = "output.path";
        Path root = properties.outputRoot();
        Path realRoot = realOrNull(root);
        if (realRoot == null) {
            try {
                Files.createDirectories(root);
                realRoot = root.toRealPath();
            } catch (IOException e) {
                log.error("ringbatch.output-root {} does not exist and cannot be created: {}", FileNames.inMessage(root),
                        e.toString());
                errors.add(new FieldError(field, "the service's output root " + FileNames.inMessage(root) + " is not usable"));
                return null;
            }
        }
        Path path;
        if (given == null) {
            path = realRoot.resolve(jobId);
        } else {
            if (given.isBlank()) {
                errors.add(new FieldError(field, "must not be empty (leave it out for <output-root>/<job id>)"));
                return null;
            }
            path = parse(given, field, errors);
            if (path == null) {
                return null;
            }
            if (!path.isAbsolute()) {
                path = root.resolve(path);
            }
            path = path.normalize();
            if (!(path.startsWith(root) || path.startsWith(realRoot)) || path.equals(root) || path.equals(realRoot)) {
                errors.add(new FieldError(field, "must lie inside the output root " + FileNames.inMessage(root)
                        + " (a directory below it, not the root itself)"));
                return null;
            }
        }
        // resolve the deepest part that exists; the rest is created by the job
        Path existing = path;
        Path rest = null;
        while (existing != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
            Path name = existing.getFileName();
            rest = rest == null ? name : name.resolve(rest);
            existing = existing.getParent();
        }
        if (existing == null) {
            errors.add(new FieldError(field, "cannot be resolved"));
            return null;
        }
        Path real;
        try {
            real = existing.toRealPath();
        } catch (NoSuchFileException e) {
            errors.add(new FieldError(field, "is a symbolic link that leads nowhere"));
            return null;
        } catch (IOException e) {
            errors.add(new FieldError(field, "cannot be resolved"));
            return null;
        }
        if (rest != null) {
            real = real.resolve(rest);
        }
        String tooLong = tooLong(real);
        if (tooLong != null) {
            // past RB_JOB.OUTPUT_PATH (4096 characters) or what the file system takes: refused here, not at the end
            errors.add(new FieldError(field, tooLong));
            return null;
        }
        if (!real.startsWith(realRoot) || real.equals(realRoot)) {
            errors.add(new FieldError(field, "leads (through a symbolic link) outside the output root "
                    + FileNames.inMessage(root)));
            return null;
        }
        if (inputRoot != null) {
            if (real.startsWith(inputRoot)) {
                errors.add(new FieldError(field, "must not lie inside the input root " + FileNames.inMessage(inputRoot)));
                return null;
            }
            if (inputRoot.startsWith(real)) {
                errors.add(new FieldError(field, "must not contain the input root " + FileNames.inMessage(inputRoot)));
                return null;
            }
        }
        if (rest == null) {
            // the directory exists: it must be empty
            if (!Files.isDirectory(real)) {
                errors.add(new FieldError(field, "exists and is not a directory"));
                return null;
            }
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(real)) {
                if (entries.iterator().hasNext()) {
                    errors.add(new FieldError(field, "already exists and is not empty; nothing is overwritten"));
                    return null;
                }
            } catch (IOException e) {
                errors.add(new FieldError(field, "exists and cannot be read"));
                return null;
            }
        }
        return real;
    }

    /** Why the output path cannot be made (with the job's staging directory beside it), or null. */
    static String tooLong(Path path) {
        if (path.toString().getBytes(StandardCharsets.UTF_8).length > MAX_OUTPUT_PATH_BYTES) {
            return "is too long: at most " + MAX_OUTPUT_PATH_BYTES + " bytes";
        }
        for (Path part : path) {
            if (part.toString().getBytes(StandardCharsets.UTF_8).length > MAX_OUTPUT_NAME_BYTES) {
                return "has a name longer than " + MAX_OUTPUT_NAME_BYTES + " bytes";
            }
        }
        return null;
    }

    private static Path parse(String value, String field, List<FieldError> errors) {
        try {
            return Path.of(value);
        } catch (InvalidPathException e) {
            errors.add(new FieldError(field, "is not a valid path: " + e.getReason()));
            return null;
        }
    }

    private static Path realOrNull(Path path) {
        try {
            return path.toRealPath();
        } catch (IOException e) {
            return null;
        }
    }

    private String roots() {
        return properties.inputRoots().stream().map(FileNames::inMessage).toList().toString();
    }
}

package io.ringbatch.api;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.springframework.http.HttpStatus;
import tools.jackson.core.JacksonException;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.core.TokenStreamLocation;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.JsonNodeType;

/**
 * Reads a {@link JobRequest} from the bytes of a request body, strictly: duplicate keys, trailing
 * content, unknown fields and values of the wrong JSON type are refused, every unknown or mistyped field
 * is named (not only the first), and nothing is coerced. Malformed JSON is refused with the line and
 * column where reading stopped.
 */
final class JobRequestReader {
    static final JsonMapper STRICT = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    /** The Java method a limit of Jackson's comes from, as its messages name it. */
    private static final Pattern CONSTRAINT_SOURCE = Pattern.compile(",? from `[\\w$.]+\\(\\)`");

    private JobRequestReader() {
    }

    static JobRequest read(byte[] body) {
        JsonNode root;
        try {
            root = STRICT.readTree(body);
        } catch (JacksonException e) {
            throw malformed(e);
        }
        if (root == null || root.isMissingNode()) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "the request body is empty; send the job as a JSON object");
        }
        List<FieldError> errors = new ArrayList<>();
        if (root.getNodeType() != JsonNodeType.OBJECT) {
            throw new ApiException(HttpStatus.BAD_REQUEST,
                    "the request body must be a JSON object, not " + describe(root.getNodeType()));
        }
        unknown(root, "", JobRequest.FIELDS, errors);
        String name = string(root.get("name"), "name", errors);
        String operation = string(root.get("operation"), "operation", errors);
        Map<String, Object> params = params(root.get("params"), errors);
        JobRequest.Input input = null;
        JsonNode in = root.get("input");
        if (object(in, "input", errors)) {
            unknown(in, "input.", JobRequest.INPUT_FIELDS, errors);
            input = new JobRequest.Input(string(in.get("root"), "input.root", errors),
                    strings(in.get("include"), "input.include", errors),
                    strings(in.get("exclude"), "input.exclude", errors));
        }
        JobRequest.Output output = null;
        JsonNode out = root.get("output");
        if (object(out, "output", errors)) {
            unknown(out, "output.", JobRequest.OUTPUT_FIELDS, errors);
            output = new JobRequest.Output(string(out.get("path"), "output.path", errors));
        }
        JobRequest.Options options = null;
        JsonNode opt = root.get("options");
        if (object(opt, "options", errors)) {
            unknown(opt, "options.", JobRequest.OPTIONS_FIELDS, errors);
            options = new JobRequest.Options(bool(opt.get("skipUnreadable"), "options.skipUnreadable", errors));
        }
        if (!errors.isEmpty()) {
            throw ApiException.invalid(errors);
        }
        return new JobRequest(name, operation, params, input, output, options);
    }

    /** 400 saying where the JSON stopped making sense, in Jackson's words but without its internals. */
    static ApiException malformed(JacksonException e) {
        TokenStreamLocation at = e.getLocation();
        String message = e.getOriginalMessage();
        if (message == null) {
            message = "not valid JSON";
        }
        message = message.lines().findFirst().orElse("").trim();
        if (message.startsWith("Trailing token")) {
            message = "more content after the end of the JSON value"; // Jackson's words name Java types
        }
        message = CONSTRAINT_SOURCE.matcher(message).replaceAll("");
        if (message.length() > 300) {
            message = message.substring(0, 300) + "...";
        }
        String where = at == null || at.getLineNr() < 0 ? "" : " at line " + at.getLineNr() + ", column "
                + at.getColumnNr();
        ApiException problem = new ApiException(HttpStatus.BAD_REQUEST, "malformed JSON" + where + ": " + message);
        return problem;
    }

    private static void unknown(JsonNode node, String prefix, List<String> known, List<FieldError> errors) {
        for (String field : node.propertyNames()) {
            if (!known.contains(field)) {
                errors.add(new FieldError(prefix + field, "unknown field; known fields here: " + String.join(", ", known)));
            }
        }
    }

    private static boolean absent(JsonNode node) {
        return node == null || node.isNull() || node.isMissingNode();
    }

    private static boolean object(JsonNode node, String field, List<FieldError> errors) {
        if (absent(node)) {
            return false;
        }
        if (node.getNodeType() != JsonNodeType.OBJECT) {
            errors.add(new FieldError(field, "must be a JSON object, not " + describe(node.getNodeType())));
            return false;
        }
        return true;
    }

    private static String string(JsonNode node, String field, List<FieldError> errors) {
        if (absent(node)) {
            return null;
        }
        if (node.getNodeType() != JsonNodeType.STRING) {
            errors.add(new FieldError(field, "must be a string, not " + describe(node.getNodeType())));
            return null;
        }
        return node.stringValue();
    }

    private static Boolean bool(JsonNode node, String field, List<FieldError> errors) {
        if (absent(node)) {
            return null;
        }
        if (node.getNodeType() != JsonNodeType.BOOLEAN) {
            errors.add(new FieldError(field, "must be true or false, not " + describe(node.getNodeType())));
            return null;
        }
        return node.booleanValue();
    }

    private static List<String> strings(JsonNode node, String field, List<FieldError> errors) {
        if (absent(node)) {
            return null;
        }
        if (node.getNodeType() != JsonNodeType.ARRAY) {
            errors.add(new FieldError(field, "must be an array of strings, not " + describe(node.getNodeType())));
            return null;
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            JsonNode item = node.get(i);
            if (item.getNodeType() != JsonNodeType.STRING) {
                errors.add(new FieldError(field + "[" + i + "]", "must be a string, not " + describe(item.getNodeType())));
            } else {
                out.add(item.stringValue());
            }
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> params(JsonNode node, List<FieldError> errors) {
        if (absent(node)) {
            return null;
        }
        if (node.getNodeType() != JsonNodeType.OBJECT) {
            errors.add(new FieldError("params", "must be a JSON object, not " + describe(node.getNodeType())));
            return null;
        }
        return new LinkedHashMap<>(STRICT.treeToValue(node, Map.class));
    }

    static String describe(JsonNodeType type) {
        return switch (type) {
            case ARRAY -> "an array";
            case OBJECT, POJO -> "an object";
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            default -> "nothing";
        };
    }
}

package io.ringbatch.operation;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads submitted parameters (as JSON gave them: strings, booleans, numbers, or null for "absent") and
 * refuses wrong ones with {@link InvalidParameterException} naming the field. Unknown keys are refused
 * too, so that a typo ({@code ignorecase}) does not silently run a different job.
 */
final class Params {
    private final Map<String, Object> raw;

    private Params(Map<String, Object> raw) {
        this.raw = raw == null ? Map.of() : raw;
    }

    /** Checks that every key is one of {@code specs}, and returns a reader over the values. */
    static Params of(Map<String, Object> params, List<ParameterSpec> specs) {
        Params p = new Params(params);
        for (String key : p.raw.keySet()) {
            if (specs.stream().noneMatch(s -> s.name().equals(key))) {
                throw new InvalidParameterException(key, "unknown parameter; this operation takes "
                        + (specs.isEmpty() ? "none"
                        : String.join(", ", specs.stream().map(ParameterSpec::name).toList())));
            }
        }
        return p;
    }

    /** A string, or {@code defaultValue} when absent; a required one must be present (it may be empty). */
    String string(String name, String defaultValue, boolean required) {
        Object v = raw.get(name);
        if (v == null) {
            if (required) {
                throw new InvalidParameterException(name, "is required");
            }
            return defaultValue;
        }
        if (!(v instanceof String s)) {
            throw new InvalidParameterException(name, "must be a string");
        }
        return s;
    }

    /** {@code true}/{@code false} as a JSON boolean or a string (any case); {@code defaultValue} when absent. */
    boolean bool(String name, boolean defaultValue) {
        Object v = raw.get(name);
        if (v == null) {
            return defaultValue;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        if (v instanceof String s) {
            String t = s.trim().toLowerCase(Locale.ROOT);
            if (t.equals("true")) {
                return true;
            }
            if (t.equals("false")) {
                return false;
            }
        }
        throw new InvalidParameterException(name, "must be true or false");
    }

    /** A whole number in {@code [min, max]}, as a JSON number or a string of digits. */
    int integer(String name, int defaultValue, int min, int max) {
        Object v = raw.get(name);
        if (v == null) {
            return defaultValue;
        }
        long value;
        if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
            value = ((Number) v).longValue();
        } else if (v instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue())
                && !Double.isInfinite(n.doubleValue())) {
            value = (long) n.doubleValue();
        } else if (v instanceof String s && s.trim().matches("[+-]?[0-9]{1,18}")) {
            value = Long.parseLong(s.trim());
        } else {
            throw new InvalidParameterException(name, "must be a whole number from " + min + " to " + max);
        }
        if (value < min || value > max) {
            throw new InvalidParameterException(name, "must be from " + min + " to " + max + ", not " + value);
        }
        return (int) value;
    }

    /** What {@code Operation.open} got back: the normalised value, or the default if a stored map lacks it. */
    static String stored(Map<String, String> params, String name, String defaultValue) {
        String v = params == null ? null : params.get(name);
        return v == null ? defaultValue : v;
    }

    /** An insertion-ordered, unmodifiable map of the normalised values, as strings. */
    static Map<String, String> normalised(Object... keysAndValues) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            m.put((String) keysAndValues[i], String.valueOf(keysAndValues[i + 1]));
        }
        return java.util.Collections.unmodifiableMap(m);
    }
}

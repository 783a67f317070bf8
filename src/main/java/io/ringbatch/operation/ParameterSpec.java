package io.ringbatch.operation;

import java.util.List;

/**
 * One parameter of an operation, as {@code GET /api/operations} shows it and the dashboard's form is
 * built from it.
 *
 * @param name         the JSON key under {@code params}
 * @param type         "string", "boolean", "integer" or "enum"
 * @param required     whether a job must give it
 * @param defaultValue the value when absent (as a string), or null
 * @param allowed      for "enum", the values; for "integer", {@code [min, max]}; else empty
 * @param description  what it does
 */
public record ParameterSpec(String name, String type, boolean required, String defaultValue, List<String> allowed,
                            String description) {
}

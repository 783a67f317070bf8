package io.ringbatch.api;

import java.util.regex.Pattern;

/** Makes messages that come from below (the runner, the file system) fit for a response. */
final class Texts {
    /** {@code java.io.IOException: }, {@code org.x.FooError} and the like. */
    private static final Pattern CLASS_NAME = Pattern.compile(
            "\\b(?:[a-z_][\\w$]*\\.)+[A-Z][\\w$]*(?:Exception|Error|Throwable)\\b:?\\s*");

    private Texts() {
    }

    /** No class names, no stack frames, at most {@code max} characters; null stays null. */
    static String clean(String message, int max) {
        if (message == null) {
            return null;
        }
        StringBuilder out = new StringBuilder();
        for (String line : message.split("\\R")) {
            String l = line.trim();
            if (l.startsWith("at ") || l.startsWith("...") || l.isEmpty()) {
                continue;
            }
            l = CLASS_NAME.matcher(l).replaceAll("").trim();
            if (l.startsWith("Caused by:")) {
                l = l.substring("Caused by:".length()).trim();
            }
            if (!l.isEmpty()) {
                if (!out.isEmpty()) {
                    out.append('\n');
                }
                out.append(l);
            }
        }
        String s = out.toString();
        return s.length() <= max ? s : s.substring(0, max - 3) + "...";
    }
}

package io.ringbatch.operation;

/** A submitted parameter is wrong; the API answers 400 naming {@code params.<field>} and the reason. */
public class InvalidParameterException extends RuntimeException {
    private final String field;

    public InvalidParameterException(String field, String reason) {
        super(reason);
        this.field = field;
    }

    /** The parameter's name, without the {@code params.} prefix. */
    public String field() {
        return field;
    }

    public String reason() {
        return getMessage();
    }
}

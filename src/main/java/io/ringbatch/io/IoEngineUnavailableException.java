package io.ringbatch.io;

/** The configured engine cannot run here; start-up stops with this message. */
public class IoEngineUnavailableException extends RuntimeException {
    public IoEngineUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}

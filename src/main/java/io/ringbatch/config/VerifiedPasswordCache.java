package io.ringbatch.config;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.springframework.security.crypto.password.PasswordEncoder;

/**
 * A {@link PasswordEncoder} that remembers, for a short while, the (password, stored hash) pairs it has
 * already found to match, so that an API client sending HTTP basic credentials on every request pays
 * one bcrypt check per {@code ttl} instead of one per request (about 60 ms of CPU each, taken from the
 * workers). Only successes are remembered: a wrong password always costs the full check, so guessing
 * is no cheaper, and the login throttle still counts it.
 * <p>
 * The cache holds no password and no hash: its keys are an HMAC-SHA-256 of the pair under a random key
 * made at start-up and never stored. At most {@code capacity} entries; the least recently used go first.
 */
public final class VerifiedPasswordCache implements PasswordEncoder {
    private final PasswordEncoder delegate;
    private final Duration ttl;
    private final int capacity;
    private final Clock clock;
    private final SecretKeySpec key;
    private final Map<String, Long> verified;

    public VerifiedPasswordCache(PasswordEncoder delegate, Duration ttl, int capacity, Clock clock) {
        this.delegate = delegate;
        this.ttl = ttl;
        this.capacity = capacity;
        this.clock = clock;
        byte[] k = new byte[32];
        new SecureRandom().nextBytes(k);
        this.key = new SecretKeySpec(k, "HmacSHA256");
        this.verified = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
                return size() > VerifiedPasswordCache.this.capacity;
            }
        };
    }

    @Override
    public String encode(CharSequence rawPassword) {
        return delegate.encode(rawPassword);
    }

    @Override
    public boolean matches(CharSequence rawPassword, String encodedPassword) {
        if (rawPassword == null || encodedPassword == null) {
            return delegate.matches(rawPassword, encodedPassword);
        }
        String id = fingerprint(rawPassword, encodedPassword);
        long now = clock.millis();
        synchronized (verified) {
            Long until = verified.get(id);
            if (until != null) {
                if (now < until) {
                    return true;
                }
                verified.remove(id);
            }
        }
        boolean ok = delegate.matches(rawPassword, encodedPassword);
        if (ok) {
            synchronized (verified) {
                verified.put(id, now + ttl.toMillis());
            }
        }
        return ok;
    }

    @Override
    public boolean upgradeEncoding(String encodedPassword) {
        return delegate.upgradeEncoding(encodedPassword);
    }

    int size() {
        synchronized (verified) {
            return verified.size();
        }
    }

    private String fingerprint(CharSequence raw, String encoded) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            mac.update(encoded.getBytes(StandardCharsets.UTF_8));
            mac.update((byte) 0);
            byte[] digest = mac.doFinal(raw.toString().getBytes(StandardCharsets.UTF_8));
            return Base64.getEncoder().encodeToString(digest);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }
}

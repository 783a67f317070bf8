-- Per user: since when a "stay signed in" cookie counts. A cookie made before VALID_AFTER is refused,
-- so that a sign-out, or a password changed in the configuration, ends the cookies of that user on every
-- instance that shares this database (the cookies themselves are signed and kept by the browser only).
--
-- USER_NAME            as the login knows it (admin, viewer, metrics)
-- VALID_AFTER          milliseconds since 1970-01-01 UTC (the cookies carry their time in the same unit)
-- PASSWORD_FINGERPRINT a keyed hash (HMAC-SHA256 with the remember-me key) of the password the instance
--                      was configured with when it last started; never the password. An instance that
--                      starts with another password moves VALID_AFTER.
CREATE TABLE RB_LOGIN (
    USER_NAME            VARCHAR(100) NOT NULL,
    VALID_AFTER          BIGINT       NOT NULL,
    PASSWORD_FINGERPRINT VARCHAR(128),
    CONSTRAINT RB_LOGIN_PK PRIMARY KEY (USER_NAME)
);

"""The test accounts' password (one, strong enough for the password policy: zxcvbn score >= 3) and the
SECRET_KEY the test app signs its tokens with."""

PASSWORD = "Corr3ct-horse-battery"
TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs512-0123456789"

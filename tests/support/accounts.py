"""The test accounts' password (one, strong enough for the password policy: zxcvbn score >= 3), the
SECRET_KEY the test app signs its tokens with, and the test object store's one identity."""

PASSWORD = "Corr3ct-horse-battery"
TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs512-0123456789"
S3_ACCESS_KEY = "videoflix-test"
S3_SECRET_KEY = "videoflix-test-secret-0123456789abcdef"


def active_user(accounts, email: str = "svc@example.com"):
    """An account registered and activated through `accounts` (an AccountService), as its owner would."""
    mail = accounts.register(email, PASSWORD)
    return accounts.activate(mail.uidb64, mail.token)

from bot.passwords import hash_password, verify_password


def test_password_hashes_verify_and_differ_by_salt():
    first, second = hash_password("hemmelig"), hash_password("hemmelig")
    assert first != second and first.startswith("$argon2id$")
    assert verify_password("hemmelig", first) and verify_password("hemmelig", second)
    assert not verify_password("Hemmelig", first)
    assert not verify_password("hemmelig", "not-a-hash")

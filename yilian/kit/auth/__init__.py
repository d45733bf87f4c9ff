"""Auth primitives: roles and permissions, password hashing, users, sessions and request dependencies."""

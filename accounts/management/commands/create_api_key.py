from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for USER and print its secret, once (only a hash is stored)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username", help="The key's owner: the key acts as this user.")
        parser.add_argument("--name", required=True, help="What the key is for, e.g. 'ci' or 'laptop'.")

    def handle(self, *args, username: str, name: str, **options) -> None:
        try:
            owner = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"There is no user {username!r}.") from None
        try:
            key, secret = api_key_create(owner=owner, name=name, actor=None)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"API key {key.name!r} for {owner.username} (prefix {key.prefix}).")
        self.stdout.write("Its secret, shown now and never again:")
        self.stdout.write(secret)
        self.stdout.write("Send it as: Authorization: Api-Key <secret>")

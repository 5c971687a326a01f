from __future__ import annotations

from typing import Any

from django import forms

from accounts import roles
from accounts.models import User
from accounts.roles import Role


def grantable_role_choices(actor: Any) -> list[tuple[str, str]]:
    return [(r.value, r.label) for r in Role if roles.can_grant_role(actor, r.value)]


class UserCreateForm(forms.Form):
    username = forms.RegexField(regex=r"^[\w.@+-]+\Z", max_length=150)
    email = forms.EmailField(required=False)
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    roles = forms.MultipleChoiceField(choices=(), required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["roles"].choices = grantable_role_choices(actor)

    def clean_username(self) -> str:
        name = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=name).exists():
            raise forms.ValidationError("An account with this username exists already.")
        return name


class UserEditForm(forms.Form):
    email = forms.EmailField(required=False)
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    roles = forms.MultipleChoiceField(choices=(), required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, actor: Any, target: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Roles the target holds stay listed (to be kept); only grantable ones can be changed.
        held = set(roles.roles_of(target))
        choices = grantable_role_choices(actor)
        offered = {value for value, _ in choices}
        self.fields["roles"].choices = [(r.value, r.label) for r in Role if r.value in offered or r.value in held]
        self.not_grantable = sorted(held - offered)


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(max_length=100)
    expires_on = forms.DateField(required=False, help_text="Optional: the key is refused from this day on (UTC).",
                                 widget=forms.DateInput(attrs={"type": "date"}))


class ConfirmForm(forms.Form):
    confirm = forms.BooleanField(required=True)


class PreferenceForm(forms.Form):
    page_size = forms.TypedChoiceField(choices=[(10, "10"), (25, "25"), (50, "50"), (100, "100")], coerce=int,
                                       label="Rows per page")
    time_zone = forms.ChoiceField(choices=())
    date_format = forms.ChoiceField(choices=())
    theme = forms.ChoiceField(choices=[("light", "Light"), ("dark", "Dark")])
    run_status = forms.ChoiceField(required=False, label="Run list: default status", choices=())
    run_mine = forms.BooleanField(required=False, label="Run list: only my runs by default")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        import zoneinfo

        from accounts.models import UserPreference
        from runs.models import RunStatus

        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(z, z) for z in sorted(zoneinfo.available_timezones())]
        self.fields["date_format"].choices = UserPreference.DATE_FORMATS
        self.fields["run_status"].choices = [("", "any")] + list(RunStatus.choices)

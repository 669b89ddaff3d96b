"""allauth's headless mode (the mobile app's sign-in) names the user by their public id.

allauth puts the user's primary key in every headless answer ("id": 42). That is a counter: it
tells anyone signing in how many accounts OpsX has, and it is not the id the rest of our API
uses. The mobile API names a user by `public_id`; so does this.
"""

from allauth.headless.adapter import DefaultHeadlessAdapter


class HeadlessAdapter(DefaultHeadlessAdapter):
    def serialize_user(self, user) -> dict:
        data = super().serialize_user(user)
        if "id" in data:
            data["id"] = str(user.public_id)
        return data

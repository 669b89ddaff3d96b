from django.apps import AppConfig


class WebsiteConfig(AppConfig):
    name = "website"

    def ready(self):
        # Removal requests for forum posts and blog comments are answered by this app's
        # handlers, from privacy's request admin (privacy must not import website).
        from . import removals

        removals.register()

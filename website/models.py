from django.core.validators import URLValidator
from django.db import models

# A subprocessor's site is a link on a public page: http(s) only, never javascript: or data:.
website_url_validator = URLValidator(
    schemes=["http", "https"], message="Enter the company's web address, starting with https://."
)


class Subprocessor(models.Model):
    """A company that processes personal data for HexCM, listed on /subprocessors/. Kept by
    staff in Django admin; an inactive row stays for the record but leaves the page."""

    name = models.CharField(max_length=120)
    purpose = models.CharField(max_length=300, help_text="What the company does for OpsX.")
    data_processed = models.TextField(help_text="Which personal data it receives or stores.")
    location = models.CharField(
        max_length=120, help_text="Where the data is processed: the country or region."
    )
    website = models.URLField(
        max_length=300, validators=[website_url_validator], help_text="https://…"
    )
    # Lower first on the page; equal orders fall back to the name.
    order = models.PositiveSmallIntegerField(default=100)
    active = models.BooleanField(default=True, help_text="Listed on the public page.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "name"]
        constraints = [models.UniqueConstraint(fields=["name"], name="subprocessor_name_unique")]

    def __str__(self) -> str:
        return self.name

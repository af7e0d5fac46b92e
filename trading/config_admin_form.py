"""The Django admin's config form: the document as JSON (secrets masked), checked by the config service's
own validator, every problem shown under the field it names."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from . import config_service
from .config_schema import ConfigInvalid, masked_document, merge_update
from .models import ConfigDocument


class ConfigDocumentForm(forms.ModelForm):
    config_json = forms.CharField(
        label="Configuration (JSON)",
        widget=forms.Textarea(
            attrs={"rows": 40, "cols": 100, "class": "vLargeTextField", "spellcheck": "false"}
        ),
        help_text="Secrets show masked (********xy); leave them so to keep the stored value. Saving goes"
        " through the same validation as PUT /api/v1/config and the console; the engine applies it on"
        " its next tick.",
    )
    based_on = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    class Meta:
        model = ConfigDocument
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cfg = config_service.current()
        self.fields["config_json"].initial = json.dumps(masked_document(cfg), indent=2)
        self.fields["based_on"].initial = config_service.current_version()

    def clean_config_json(self) -> dict[str, Any]:
        try:
            document = json.loads(self.cleaned_data["config_json"])
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"not valid JSON: {exc}") from None
        if not isinstance(document, dict):
            raise forms.ValidationError("the configuration must be a JSON object")
        try:
            merge_update(config_service.current(), document)
        except ConfigInvalid as exc:
            raise forms.ValidationError(
                [f"{error['field'] or 'document'}: {error['message']}" for error in exc.errors]
            ) from None
        return document

    def clean_based_on(self) -> int:
        based_on = self.cleaned_data["based_on"]
        current = config_service.current_version()
        if based_on != current:
            raise forms.ValidationError(
                f"the configuration was saved elsewhere since this form was opened (v{based_on} → v{current});"
                " reload the page and make your change again"
            )
        return based_on

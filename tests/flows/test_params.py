"""Flow parameters render as typed forms in the Prefect UI, and secrets are never parameters."""

from __future__ import annotations

import pytest
from prefect.utilities.callables import parameter_schema

from flows.dataset import prepare_dataset
from flows.generation import generate_images, generate_lite
from flows.lifecycle import tailored_lifecycle
from flows.params import DatasetParams, PromptSpec, TrainingParams, load_prompts
from flows.training import train_model


@pytest.mark.parametrize(
    "flow", [prepare_dataset, train_model, generate_images, generate_lite, tailored_lifecycle]
)
def test_every_flow_has_a_typed_form_without_secret_fields(flow):
    schema = parameter_schema(flow).model_dump_for_openapi()
    definitions = schema.get("definitions", {})
    # the only secrets are inside credential blocks (Bria's, inference.sh's), which the UI offers as pickers
    assert definitions["BriaCredentials"]["block_type_slug"] == "bria-credentials"
    blocks = {k for k, v in definitions.items() if "block_type_slug" in v}
    assert blocks <= {"BriaCredentials", "InferenceShCredentials"}
    plain = {k: v for k, v in definitions.items() if k not in blocks} | {
        k: v for k, v in schema["properties"].items() if not k.endswith("credentials")
    }
    assert "api_token" not in str(plain) and "password" not in str(plain) and "api_key" not in str(plain)
    assert schema["properties"]["credentials"]["anyOf"][0] == {"$ref": "#/definitions/BriaCredentials"}


def test_ranges_and_choices_reach_the_form():
    lite = parameter_schema(generate_lite).model_dump_for_openapi()
    props = lite["properties"]
    assert props["num_images"]["maximum"] == 16 and props["seed"]["anyOf"][0]["maximum"] == 2_147_483_647
    assert set(props["output_format"]["enum"]) == {"png", "jpeg"}
    assert "reference images" in props["reference_images"]["description"].lower()
    assert props["guidance_scale"]["anyOf"][0] == {"type": "number", "minimum": 3, "maximum": 5}
    assert props["steps"]["anyOf"][0]["maximum"] == 50
    assert set(props["backend"]["enum"]) == {"bria", "inferencesh"}
    assert props["inferencesh_credentials"]["anyOf"][0] == {"$ref": "#/definitions/InferenceShCredentials"}


def test_parameter_models_validate_before_any_call(tmp_path):
    with pytest.raises(ValueError, match="zip_url"):
        DatasetParams(name="d", images_dir=tmp_path, upload_type="advanced")
    with pytest.raises(ValueError, match="expert"):
        TrainingParams(model_name="m", expert={"rank": 64})
    with pytest.raises(ValueError):
        PromptSpec(prompt="x", seed=-1)


def test_prompts_file_formats(tmp_path):
    lines = tmp_path / "prompts.txt"
    lines.write_text('# brand prompts\na mug\n{"prompt": "a cup", "seed": 3, "aspect_ratio": "16:9"}\n')
    assert [(p.prompt, p.seed) for p in load_prompts(None, lines)] == [("a mug", None), ("a cup", 3)]
    as_json = tmp_path / "prompts.json"
    as_json.write_text('[{"prompt": "a bowl"}, "a plate"]')
    assert [p.prompt for p in load_prompts([PromptSpec(prompt="x")], as_json)] == ["x", "a bowl", "a plate"]
    with pytest.raises(ValueError, match="no prompts"):
        load_prompts(None, None)

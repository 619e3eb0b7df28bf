"""The model catalogue: every model the project offers, its facts (HUNYUAN_MT notes, Tencent's model cards) and the
preflight role's requirements agreeing with it; `hymt model list` prints it."""

from __future__ import annotations

import json

import yaml

from hymt.core import catalogue
from tests.support.repo import ROOT

OFFERED = {
    "tencent/Hunyuan-MT-7B",
    "tencent/Hunyuan-MT-7B-fp8",
    "tencent/Hunyuan-MT-Chimera-7B",
    "tencent/Hunyuan-MT-Chimera-7B-fp8",
    "tencent/HY-MT1.5-7B",
    "tencent/HY-MT1.5-7B-FP8",
    "tencent/HY-MT1.5-1.8B",
    "tencent/HY-MT1.5-1.8B-FP8",
    "tencent/HY-MT1.5-1.8B-GPTQ-Int4",
    "tencent/Hy-MT2-1.8B",
    "tencent/Hy-MT2-1.8B-FP8",
    "tencent/Hy-MT2-7B",
    "tencent/Hy-MT2-7B-FP8",
    "tencent/Hy-MT2-30B-A3B",
    "tencent/Hy-MT2-30B-A3B-FP8",
    "hymt-rehearsal",
}


def test_every_offered_model_is_in_the_catalogue_once():
    ids = [model.model_id for model in catalogue.CATALOGUE]
    assert sorted(ids) == sorted(OFFERED)
    assert catalogue.DEFAULT_MODEL_ID == "tencent/Hunyuan-MT-7B"
    assert [model.model_id for model in catalogue.CATALOGUE if model.default] == ["tencent/Hunyuan-MT-7B"]


def test_fp8_builds_want_an_fp8_kv_cache_and_nobody_gets_tencents_copied_flags():
    for model in catalogue.CATALOGUE:
        assert (model.precision == "fp8") == (model.vllm_flags == ("--kv-cache-dtype", "fp8")), model.model_id
        assert "experts_int8" not in " ".join(model.vllm_flags)
        assert "--trust-remote-code" not in model.vllm_flags


def test_the_confirmed_modelscope_ids_are_those_of_tencents_documentation():
    confirmed = {model.model_id: model.modelscope_id for model in catalogue.CATALOGUE if model.modelscope_confirmed}
    assert confirmed == {
        "tencent/Hunyuan-MT-7B": "Tencent-Hunyuan/Hunyuan-MT-7B",
        "tencent/Hunyuan-MT-7B-fp8": "Tencent-Hunyuan/Hunyuan-MT-7B-fp8",
        "tencent/Hunyuan-MT-Chimera-7B": "Tencent-Hunyuan/Hunyuan-MT-Chimera-7B",
    }


def test_the_rehearsal_model_is_generated_and_needs_no_gpu():
    model = catalogue.find("hymt-rehearsal")
    assert model.source == catalogue.SOURCE_GENERATED and model.modelscope_id is None
    assert model.gpu_memory_mb == 0


def test_hy_mt2_waits_for_a_start_on_the_pinned_vllm():
    for model in catalogue.CATALOGUE:
        assert (model.status == catalogue.UNVERIFIED) == model.model_id.startswith("tencent/Hy-MT2"), model.model_id


def test_bigger_builds_need_more():
    for model in catalogue.CATALOGUE:
        assert model.disk_gb >= model.weights_gb, model.model_id
    bf16, fp8 = catalogue.find("tencent/Hunyuan-MT-7B"), catalogue.find("tencent/Hunyuan-MT-7B-fp8")
    assert fp8.weights_gb < bf16.weights_gb and fp8.gpu_memory_mb < bf16.gpu_memory_mb


def test_find_takes_either_hubs_id_in_any_case():
    assert catalogue.find("TENCENT/hunyuan-mt-7b").model_id == "tencent/Hunyuan-MT-7B"
    assert catalogue.find("Tencent-Hunyuan/Hunyuan-MT-7B-fp8").model_id == "tencent/Hunyuan-MT-7B-fp8"
    assert catalogue.find("someone/else") is None
    assert catalogue.find("tencent/Hunyuan-MT-7B").served_name == "Hunyuan-MT-7B"


def test_the_roles_read_the_catalogue_through_the_lookup(tmp_path):
    """Preflight's requirement table is the catalogue's (one place per fact), reached through the hymt_catalogue
    lookup that ansible.cfg makes every playbook see."""
    from tests.support.playbook import run_playbook, write_inventory

    inventory = write_inventory(tmp_path, {"all": {"hosts": {"localhost": {"ansible_connection": "local"}}}})
    playbook = tmp_path / "show.yml"
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.debug: {msg: \"{{ lookup('hymt_catalogue', 'requirements') | to_json }}\"}\n"
    )
    run = run_playbook(playbook, inventory)
    assert run.returncode == 0, run.explain()
    assert json.loads(run.messages()[-1]) == catalogue.requirements()
    defaults = yaml.safe_load((ROOT / "roles/preflight/defaults/main.yml").read_text())
    assert defaults["preflight_model_requirements"] == "{{ lookup('hymt_catalogue', 'requirements') }}"


def test_as_dicts_is_plain_data_for_json_and_ansible():
    rows = catalogue.as_dicts()
    assert json.loads(json.dumps(rows)) == rows
    assert rows[0]["model_id"] == "tencent/Hunyuan-MT-7B" and rows[0]["served_name"] == "Hunyuan-MT-7B"
    assert rows[1]["vllm_flags"] == ["--kv-cache-dtype", "fp8"]


def test_list_prints_the_table(hymt):
    run = hymt("model", "list")
    assert run.code == 0
    lines = run.out.splitlines()
    assert lines[0].split()[:3] == ["MODEL", "MODELSCOPE", "PROMPTS"]
    for model_id in OFFERED:
        assert any(line.startswith(model_id) for line in lines), model_id
    assert any(line.startswith("tencent/Hunyuan-MT-7B *") for line in lines)
    assert "Sizes are approximate" in run.out


def test_list_json_is_the_catalogue(hymt):
    run = hymt("model", "list", "--json")
    assert run.code == 0
    assert json.loads(run.out) == catalogue.as_dicts()

"""AWX configuration as code (awx/): what can be checked without an AWX server, checked for real.

- Every object of awx/data/ is valid for the pinned awx.awx: each task of awx/configure.yml
  passes only options its module accepts, drops no key of the data, and each object, templated
  as the playbook templates it, passes the module's own argument validation (the spec is taken
  from the module's main()).
- Objects refer only to objects applied before them (the playbook's fixed order).
- Every survey variable and job template extra var is a variable the playbooks accept (an
  option of a role's meta/argument_specs.yml).
- The dev job templates run the way AWX runs them: their project copied into a private data
  directory without .git, the inventory imported from the project's inventory source by
  ansible-inventory and handed to the job as an inventory script, the AWS credential only as
  the environment variables AWX's Amazon Web Services credential injects, the template's extra
  vars and the survey answers as extra vars, `--check --diff` for the plan (job type check, diff
  mode), run by ansible-runner against the emulator. Deploy publishes its outputs with
  set_stats, read back from the runner's artifacts as AWX reads them.
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
AWX = ROOT / "awx"
BIN = Path(sys.executable).parent
ENV = "dev"
# The survey's answer for the image: any reference (the emulator runs no container).
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlflow-tracking:rollback-0123"
# The order awx/configure.yml applies objects in, with the data list each task loops over.
ORDER = [
    ("organization", "aap_organizations"),
    ("credential", "controller_credentials"),
    ("execution_environment", "controller_execution_environments"),
    ("instance_group", "controller_instance_groups"),
    ("project", "controller_projects"),
    ("inventory", "controller_inventories"),
    ("inventory_source", "controller_inventory_sources"),
    ("job_template", "controller_templates"),
]
# Field types an AWX survey question may have.
OMITTED = "__omitted__"
SURVEY_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}


# --- the awx.awx modules' argument specs -------------------------------------------------------


class _Captured(Exception):
    pass


def awx_argument_spec(module: str) -> dict:
    """The full argument spec of awx.awx.<module>: its main()'s spec plus the connection options.

    Each module builds its spec inside main() and hands it to ControllerAPIModule; the
    constructor is replaced for the call so the spec is captured before any connection.
    """
    mod = importlib.import_module(f"ansible_collections.awx.awx.plugins.modules.{module}")
    captured: dict = {}
    real = mod.ControllerAPIModule

    class Capture(real):  # type: ignore[misc,valid-type]
        def __init__(self, argument_spec=None, **kwargs):
            captured.update(argument_spec or {})
            raise _Captured

    mod.ControllerAPIModule = Capture
    try:
        with pytest.raises(_Captured):
            mod.main()
    finally:
        mod.ControllerAPIModule = real
    full = dict(real.AUTH_ARGSPEC)
    full.update(captured)
    return full


def option_names(spec: dict) -> set[str]:
    names = set(spec)
    for option in spec.values():
        names.update(option.get("aliases", []))
    return names


def validate(spec: dict, params: dict) -> list[str]:
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    result = ArgumentSpecValidator(spec).validate(params)
    return [str(err) for err in result.errors]


# --- the AWX data as configure.yml templates it ------------------------------------------------


def configure_play() -> dict:
    return yaml.safe_load((AWX / "configure.yml").read_text())[0]


def configure_tasks() -> list[dict]:
    return configure_play()["tasks"]


def task_module(task: dict) -> tuple[str, dict]:
    for key, value in task.items():
        if key.startswith("awx.awx."):
            return key.removeprefix("awx.awx."), value
    raise AssertionError(f"task {task.get('name')} uses no awx.awx module")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict:
    """The parameters each task of awx/configure.yml gives its module, item by item, and the data.

    ansible-playbook runs configure.yml with each awx.awx module call replaced by a task that
    writes the same arguments, templated by Ansible for the same loop items, to a file (the
    modules themselves would need an AWX server).
    """
    out = tmp_path_factory.mktemp("awx-rendered")
    play = configure_play()
    play["vars_files"] = [str(AWX / name) for name in play["vars_files"]]
    tasks = []
    for task in play["tasks"]:
        module, args = task_module(task)
        recorder = {k: v for k, v in task.items() if not k.startswith("awx.awx.")}
        recorder.pop("no_log", None)
        # omit cannot be written to a file: a marker stands for it, dropped when read back
        recorder["vars"] = {
            "mlflow_awx_args": {
                k: v.replace("default(omit)", f"default('{OMITTED}')") if isinstance(v, str) else v
                for k, v in args.items()
            }
        }
        recorder["loop_control"] = dict(task["loop_control"], extended=True)
        recorder["ansible.builtin.copy"] = {
            "content": "{{ mlflow_awx_args | to_json }}",
            "dest": f"{out}/{module}-{{{{ '%03d' % ansible_loop.index }}}}.json",
            "mode": "0600",
        }
        tasks.append(recorder)
    lists = [data_list for _, data_list in ORDER]
    tasks.append(
        {
            "name": "Record the data",
            "ansible.builtin.copy": {
                "content": "{{ {" + ", ".join(f"'{n}': {n}" for n in lists) + "} | to_json }}",
                "dest": f"{out}/data.json",
                "mode": "0600",
            },
        }
    )
    play["tasks"] = tasks
    playbook = out / "record.yml"
    playbook.write_text(yaml.safe_dump([play], sort_keys=False))
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), str(playbook), "-i", "localhost,", "-c", "local"]
        + ["-e", f"ansible_python_interpreter={sys.executable}"],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, ANSIBLE_NOCOLOR="1"),
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    params: dict[str, list[dict]] = {}
    for path in sorted(out.glob("*-[0-9][0-9][0-9].json")):
        module = path.stem.rsplit("-", 1)[0]
        raw = json.loads(path.read_text())
        params.setdefault(module, []).append({k: v for k, v in raw.items() if v != OMITTED})
    return {"params": params, "data": json.loads((out / "data.json").read_text())}


@pytest.fixture(scope="module")
def awx_data(rendered) -> dict:
    return rendered["data"]


# --- objects valid for awx.awx -----------------------------------------------------------------


def test_the_validation_rejects_what_awx_awx_rejects():
    """The checks below are not vacuous: an unknown option and a wrong choice are refused."""
    spec = awx_argument_spec("job_template")
    assert "allow_simultaneous" in spec and "survey_spec" in spec
    assert validate(spec, {"name": "x", "playbok": "deploy.yml"})
    assert validate(spec, {"name": "x", "job_type": "plan"})
    assert not validate(spec, {"name": "x", "job_type": "check", "allow_simultaneous": False})


def test_configure_applies_every_kind_of_object_in_a_fixed_order():
    tasks = configure_tasks()
    assert [task_module(t)[0] for t in tasks] == [module for module, _ in ORDER]
    for task, (_, data_list) in zip(tasks, ORDER, strict=True):
        assert task["loop"] == "{{ " + data_list + " }}", task["name"]
        assert task["loop_control"]["loop_var"] == "mlflow_awx_item"
        assert "label" in task["loop_control"]


@pytest.mark.parametrize("module,data_list", ORDER)
def test_every_object_is_valid_for_the_pinned_awx_awx(module, data_list, rendered):
    spec = awx_argument_spec(module)
    task = next(t for t in configure_tasks() if task_module(t)[0] == module)
    _, args = task_module(task)
    unknown = set(args) - option_names(spec)
    assert not unknown, f"configure.yml passes options awx.awx.{module} does not have: {unknown}"
    items = rendered["data"][data_list]
    assert items, f"{data_list} is empty"
    assert len(rendered["params"][module]) == len(items)
    for item, params in zip(items, rendered["params"][module], strict=True):
        dropped = set(item) - set(args)
        assert not dropped, f"{data_list} item {item['name']}: keys the playbook ignores: {dropped}"
        assert params["name"] == item["name"]
        errors = validate(spec, params)
        assert not errors, f"awx.awx.{module} {item['name']}: {errors}"


def test_objects_refer_only_to_objects_applied_before_them(awx_data):
    names = {data_list: {i["name"] for i in awx_data[data_list]} for _, data_list in ORDER}
    orgs = names["aap_organizations"]
    for _, data_list in ORDER[1:]:
        for item in awx_data[data_list]:
            if "organization" in item:
                assert item["organization"] in orgs, item["name"]
    for project in awx_data["controller_projects"]:
        assert project["default_environment"] in names["controller_execution_environments"]
    for source in awx_data["controller_inventory_sources"]:
        assert source["inventory"] in names["controller_inventories"]
        assert source["source_project"] in names["controller_projects"]
        assert (ROOT / source["source_path"]).is_file(), source["source_path"]
    for template in awx_data["controller_templates"]:
        assert template["inventory"] in names["controller_inventories"]
        assert template["project"] in names["controller_projects"]
        assert set(template["credentials"]) <= names["controller_credentials"]
        assert template["execution_environment"] in names["controller_execution_environments"]
        assert set(template.get("instance_groups", [])) <= names["controller_instance_groups"]
    for inventory in awx_data["controller_inventories"]:
        assert set(inventory["instance_groups"]) <= names["controller_instance_groups"]
        assert (ROOT / template["playbook"]).is_file(), template["playbook"]


def test_the_aws_credential_is_of_the_type_that_injects_aws_environment(awx_data):
    (credential,) = awx_data["controller_credentials"]
    assert credential["credential_type"] == "Amazon Web Services"
    assert set(credential["inputs"]) == {"username", "password"}
    task = next(t for t in configure_tasks() if task_module(t)[0] == "credential")
    assert task["no_log"] == "{{ mlflow_awx_secure_logging | bool }}"


# --- job templates: environments, surveys, concurrency -----------------------------------------


def role_options() -> set[str]:
    """Every variable a role documents and validates (meta/argument_specs.yml, all entry points)."""
    names: set[str] = set()
    for path in (ROOT / "roles").glob("*/meta/argument_specs.yml"):
        for entry in yaml.safe_load(path.read_text())["argument_specs"].values():
            names.update(entry.get("options", {}))
    return names


def templates_by_action(awx_data) -> dict[str, dict]:
    """The job templates keyed by their action: "MLflow deploy" -> "deploy"."""
    return {t["name"].removeprefix("MLflow "): t for t in awx_data["controller_templates"]}


def environments(awx_data) -> list[str]:
    return [i["name"].removeprefix("MLflow ") for i in awx_data["controller_inventories"]]


def test_each_inventory_runs_its_jobs_one_at_a_time_on_its_own_group(awx_data):
    sources = {s["inventory"]: s for s in awx_data["controller_inventory_sources"]}
    groups = {g["name"]: g for g in awx_data["controller_instance_groups"]}
    assert environments(awx_data) == ["dev", "staging", "production"]
    for inventory in awx_data["controller_inventories"]:
        environment = inventory["name"].removeprefix("MLflow ")
        source = sources[inventory["name"]]
        assert source["source_path"] == f"inventories/{environment}/hosts.yml"
        assert source["update_on_launch"] and source["overwrite_vars"]
        # A deploy, a plan and a destroy of one environment never overlap: whatever template
        # launched them, its jobs run on the inventory's group, one at a time, no fallback.
        assert inventory["instance_groups"] == [f"MLflow {environment}"]
        assert inventory["prevent_instance_group_fallback"] is True
        group = groups[f"MLflow {environment}"]
        assert group["max_concurrent_jobs"] == 1 and group["is_container_group"] is True


def test_one_template_per_action_the_environment_chosen_at_launch(awx_data):
    templates = templates_by_action(awx_data)
    assert set(templates) == {"deploy", "plan", "destroy", "image"}
    assert templates["deploy"]["playbook"] == "playbooks/deploy.yml"
    assert templates["plan"]["playbook"] == "playbooks/deploy.yml"
    assert templates["destroy"]["playbook"] == "playbooks/destroy.yml"
    assert templates["image"]["playbook"] == "playbooks/image.yml"
    plan = templates["plan"]
    assert plan["job_type"] == "check" and plan["diff_mode"] is True
    for action in ("deploy", "destroy", "image"):
        assert templates[action]["job_type"] == "run"
    for action, template in templates.items():
        assert template["ask_inventory_on_launch"] is True, action
        assert template["allow_simultaneous"] is False, action
    for action in ("deploy", "plan", "destroy"):
        template = templates[action]
        # No template-level group: the inventory's group (one job at a time) runs the job.
        assert "instance_groups" not in template, action
        environment = template["survey_spec"]["spec"][0]
        assert environment["variable"] == "mlflow_expected_env", action
        assert environment["type"] == "multiplechoice" and environment["required"] is True
        assert environment["choices"] == environments(awx_data)
    # The image build runs where a Docker engine is: a group of execution nodes, not a pod.
    groups = {g["name"]: g for g in awx_data["controller_instance_groups"]}
    (group,) = templates["image"]["instance_groups"]
    assert groups[group]["is_container_group"] is False
    assert groups[group]["max_concurrent_jobs"] == 1
    assert templates["image"]["survey_enabled"] is False


def test_every_survey_and_extra_variable_is_one_the_playbooks_accept(awx_data):
    accepted = role_options()
    assert {"mlflow_env", "storage_remove_data", "storage_remove_data_confirm"} <= accepted
    surveyed = [t for t in awx_data["controller_templates"] if t["survey_enabled"]]
    assert len(surveyed) == 3
    for template in surveyed:
        survey = template["survey_spec"]
        variables = [q["variable"] for q in survey["spec"]]
        assert len(variables) == len(set(variables)), template["name"]
        for question in survey["spec"]:
            assert question["variable"] in accepted, (template["name"], question["variable"])
            assert question["type"] in SURVEY_TYPES
            if question["type"] == "multiplechoice" and "default" in question:
                assert question["default"] in question["choices"]
        assert set(template.get("extra_vars", {})) <= accepted, template["name"]


def test_destroy_asks_the_data_removal_with_a_typed_confirmation(awx_data):
    for template in awx_data["controller_templates"]:
        if not template["survey_enabled"]:
            continue
        questions = {q["variable"]: q for q in template["survey_spec"]["spec"]}
        if template["playbook"] == "playbooks/destroy.yml":
            remove = questions["storage_remove_data"]
            assert remove["type"] == "multiplechoice" and remove["default"] == "false"
            assert set(remove["choices"]) == {"false", "true"}
            confirm = questions["storage_remove_data_confirm"]
            assert confirm["type"] == "text" and confirm["default"] == ""
        else:
            assert "storage_remove_data" not in questions
            assert questions["mlflow_image"]["type"] == "text"


# --- the dev job templates, run as AWX runs them -----------------------------------------------


def copy_project(dest: Path) -> None:
    """The project as AWX's project update leaves it: the repository's files, no .git."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        rel = raw.decode()
        src = ROOT / rel
        if not src.exists() and not src.is_symlink():
            continue  # deleted in the work tree
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            target.symlink_to(os.readlink(src))
        elif src.is_file():
            shutil.copy2(src, target)


def import_inventory(project: Path, source_path: str) -> dict:
    """What AWX's SCM inventory update imports: ansible-inventory --list on the source path."""
    proc = subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", source_path, "--list", "--export"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")},
    )
    return json.loads(proc.stdout)


class AwxJob:
    """One job of a job template run through ansible-runner in its own private data directory."""

    def __init__(self, workdir: Path, name: str, template: dict, inventory: dict):
        self.pdd = workdir / name
        self.template = template
        self.inventory = inventory
        self.runs = 0
        copy_project(self.pdd / "project")
        script = self.pdd / "inventory" / "hosts"
        script.parent.mkdir(parents=True)
        # AWX hands the imported inventory to the job as a script printing it as JSON.
        script.write_text("#!/bin/sh\ncat <<'EOF'\n" + json.dumps(inventory) + "\nEOF\n")
        script.chmod(0o700)

    def run(self, survey_answers: dict, endpoint_url: str, credential: dict) -> dict:
        extravars = dict(self.template.get("extra_vars", {}))
        extravars.update(survey_answers)
        extravars["aws_endpoint_url"] = endpoint_url  # the only change for the emulator
        env_dir = self.pdd / "env"
        env_dir.mkdir(exist_ok=True)
        (env_dir / "extravars").write_text(json.dumps(extravars))
        (env_dir / "envvars").write_text(json.dumps(credential))
        cmdline = []
        if self.template["job_type"] == "check":
            cmdline.append("--check")
        if self.template.get("diff_mode"):
            cmdline.append("--diff")
        (env_dir / "cmdline").write_text(" ".join(cmdline))
        self.runs += 1
        ident = f"job{self.runs}"
        # A clean environment: no AWS or Ansible settings of the test process leak into the job.
        env = {
            "PATH": f"{BIN}{os.pathsep}/usr/bin:/bin",
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
        }
        proc = subprocess.run(
            [
                str(BIN / "ansible-runner"),
                "run",
                str(self.pdd),
                "--playbook",
                self.template["playbook"],
                "--inventory",
                str(self.pdd / "inventory" / "hosts"),
                "--ident",
                ident,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=1200,
        )
        artifacts = self.pdd / "artifacts" / ident
        events = [
            json.loads(p.read_text()) for p in sorted((artifacts / "job_events").glob("*.json"))
        ]
        stats = next((e for e in events if e.get("event") == "playbook_on_stats"), {})
        changed_tasks = [
            e["event_data"].get("task", "")
            for e in events
            if e.get("event") == "runner_on_ok" and e["event_data"].get("res", {}).get("changed")
        ]
        return {
            "rc": int((artifacts / "rc").read_text()) if (artifacts / "rc").exists() else -1,
            "status": (artifacts / "status").read_text() if (artifacts / "status").exists() else "",
            "stdout": (artifacts / "stdout").read_text()
            if (artifacts / "stdout").exists()
            else proc.stdout,
            "stderr": proc.stderr,
            "stats": stats.get("event_data", {}),
            "changed_tasks": changed_tasks,
            "command": json.loads((artifacts / "command").read_text())
            if (artifacts / "command").exists()
            else {},
        }


def still_there(emu, arn: str) -> bool:
    """False for what AWS itself still lists once deleted: INACTIVE ECS clusters and task
    definitions (moto lists them in the tagging API too) and secrets scheduled for deletion."""
    ecs = emu.client("ecs")
    if ":cluster/" in arn:
        return ecs.describe_clusters(clusters=[arn])["clusters"][0]["status"] == "ACTIVE"
    if ":service/" in arn:
        services = ecs.describe_services(cluster=arn.split("/")[-2], services=[arn])["services"]
        return bool(services) and services[0]["status"] == "ACTIVE"
    if ":task-definition/" in arn:
        definition = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        return definition["status"] == "ACTIVE"
    if ":secretsmanager:" in arn:
        return "DeletedDate" not in emu.client("secretsmanager").describe_secret(SecretId=arn)
    return True


def tail(result: dict, n: int = 5000) -> str:
    return f"rc={result['rc']}\n{result['stdout'][-n:]}\n{result['stderr'][-2000:]}"


@pytest.fixture(scope="module")
def dev_jobs(emulator_factory, awx_data, tmp_path_factory):
    emu = emulator_factory(ENV)
    work = tmp_path_factory.mktemp("awx")
    templates = {
        action: template
        for action, template in templates_by_action(awx_data).items()
        if action in ("deploy", "plan", "destroy")
    }
    source = next(
        s for s in awx_data["controller_inventory_sources"] if s["inventory"] == f"MLflow {ENV}"
    )
    project = work / "project-update"
    copy_project(project)
    inventory = import_inventory(project, source["source_path"])
    jobs = {
        action: AwxJob(work, action, template, inventory) for action, template in templates.items()
    }
    # AWX's Amazon Web Services credential: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY only.
    credential = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    return emu, jobs, credential


def test_the_imported_dev_inventory_holds_no_aws_credentials(dev_jobs):
    _, jobs, _ = dev_jobs
    script = (jobs["deploy"].pdd / "inventory" / "hosts").read_text()
    assert '"mlflow_env": "dev"' in script
    assert "aws_access_key_id" not in script and "aws_secret_access_key" not in script
    assert not (jobs["deploy"].pdd / "project" / ".git").exists()


def test_a_job_launched_with_another_environments_inventory_changes_nothing(dev_jobs):
    """The survey says production, the inventory chosen at launch is dev's: nothing happens."""
    emu, jobs, credential = dev_jobs
    tagging = emu.client("resourcegroupstaggingapi")
    before = tagging.get_resources()["ResourceTagMappingList"]
    repositories = emu.client("ecr").describe_repositories()["repositories"]
    answers = {"mlflow_expected_env": "production", "mlflow_image": IMAGE}
    result = jobs["deploy"].run(answers, emu.endpoint_url, credential)
    assert result["rc"] != 0 and result["status"] == "failed", tail(result)
    text = " ".join(result["stdout"].split())
    asked = "This run was asked for environment production (mlflow_expected_env"
    assert asked in text, tail(result)
    assert "but its inventory is for dev (mlflow_env)" in text
    # As before the job (the main stack, the image CI pushed): no new resource, no cluster.
    assert tagging.get_resources()["ResourceTagMappingList"] == before
    assert emu.client("ecr").describe_repositories()["repositories"] == repositories
    assert emu.client("ecs").list_clusters()["clusterArns"] == []


def test_an_inventory_asking_for_an_image_build_is_refused_by_the_deploy_template(
    dev_jobs, tmp_path
):
    """The deploy template cannot build (image_build_allowed: false): an inventory's
    image_build: true is refused by name, not overridden by the template's extra vars."""
    emu, jobs, credential = dev_jobs
    inventory = copy.deepcopy(jobs["deploy"].inventory)
    inventory["all"]["vars"]["image_build"] = True  # the inventory's group_vars/all
    job = AwxJob(tmp_path, "deploy-build", jobs["deploy"].template, inventory)
    tagging = emu.client("resourcegroupstaggingapi")
    before = tagging.get_resources()["ResourceTagMappingList"]
    result = job.run(
        {"mlflow_expected_env": ENV, "mlflow_image": IMAGE}, emu.endpoint_url, credential
    )
    assert result["rc"] != 0 and result["status"] == "failed", tail(result)
    text = " ".join(result["stdout"].split())
    assert (
        "image_build is true, but this run cannot build images (image_build_allowed: false" in text
    ), tail(result)
    assert tagging.get_resources()["ResourceTagMappingList"] == before
    assert emu.client("ecs").list_clusters()["clusterArns"] == []


def test_deploy_job_template_runs_and_publishes_its_outputs_with_set_stats(dev_jobs):
    emu, jobs, credential = dev_jobs
    answers = {"mlflow_expected_env": ENV, "mlflow_image": IMAGE}
    result = jobs["deploy"].run(answers, emu.endpoint_url, credential)
    assert result["rc"] == 0 and result["status"] == "successful", tail(result)
    assert "--check" not in result["command"].get("command", [])
    outputs = result["stats"].get("artifact_data", {}).get("mlflow_outputs")
    assert outputs, f"no set_stats mlflow_outputs in the stats event: {result['stats']}"
    assert outputs["environment"] == ENV
    assert outputs["cluster_name"] == f"{ENV}-mlflow-cluster"
    assert outputs["image"] == IMAGE
    (cluster,) = emu.client("ecs").describe_clusters(clusters=[outputs["cluster_name"]])["clusters"]
    assert cluster["status"] == "ACTIVE"
    service = emu.client("ecs").describe_services(
        cluster=outputs["cluster_name"], services=[outputs["service_name"]]
    )["services"][0]
    task_definition = emu.client("ecs").describe_task_definition(
        taskDefinition=service["taskDefinition"]
    )["taskDefinition"]
    assert task_definition["containerDefinitions"][0]["image"] == outputs["image"]


def test_plan_job_template_runs_in_check_and_diff_mode_and_changes_nothing(dev_jobs):
    emu, jobs, credential = dev_jobs
    before = emu.client("ecs").list_task_definitions(familyPrefix=f"{ENV}-mlflow")
    answers = {"mlflow_expected_env": ENV, "mlflow_image": IMAGE}
    result = jobs["plan"].run(answers, emu.endpoint_url, credential)
    assert result["rc"] == 0 and result["status"] == "successful", tail(result)
    command = result["command"].get("command", [])
    assert "--check" in command and "--diff" in command, command
    # Each AWX job has its own private data directory: the outputs file is new there, nothing else.
    changed = [t for t in result["changed_tasks"] if "outputs" not in t]
    assert changed == [], tail(result)
    after = emu.client("ecs").list_task_definitions(familyPrefix=f"{ENV}-mlflow")
    assert after["taskDefinitionArns"] == before["taskDefinitionArns"]


def test_destroy_job_template_refuses_an_unconfirmed_data_removal(dev_jobs):
    emu, jobs, credential = dev_jobs
    answers = {
        "mlflow_expected_env": ENV,
        "storage_remove_data": "true",
        "storage_remove_data_confirm": "production",
    }
    result = jobs["destroy"].run(answers, emu.endpoint_url, credential)
    assert result["rc"] != 0 and result["status"] == "failed", tail(result)
    clusters = emu.client("ecs").describe_clusters(clusters=[f"{ENV}-mlflow-cluster"])["clusters"]
    assert [c["status"] for c in clusters] == ["ACTIVE"]


def test_destroy_job_template_removes_everything_when_confirmed(dev_jobs):
    emu, jobs, credential = dev_jobs
    answers = {
        "mlflow_expected_env": ENV,
        "storage_remove_data": "true",
        "storage_remove_data_confirm": ENV,
    }
    result = jobs["destroy"].run(answers, emu.endpoint_url, credential)
    assert result["rc"] == 0 and result["status"] == "successful", tail(result)
    tagged = emu.client("resourcegroupstaggingapi").get_resources(
        TagFilters=[{"Key": "Environment", "Values": [ENV]}]
    )["ResourceTagMappingList"]
    left = [r["ResourceARN"] for r in tagged if still_there(emu, r["ResourceARN"])]
    assert left == [], left
    buckets = [b["Name"] for b in emu.client("s3").list_buckets()["Buckets"]]
    assert not [b for b in buckets if b.startswith(f"{ENV}-mlflow-")], buckets

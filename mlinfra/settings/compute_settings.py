"""Stack config of the workspace's compute clusters: the image-build cluster that
`workspace.imageBuildCompute` names, and training clusters."""

from typing import Annotated

from pydantic import Field, StrictBool, StrictStr, model_validator

from mlinfra.settings.settings_base import Settings, StrictInt

ComputeName = Annotated[StrictStr, Field(pattern=r"^[A-Za-z][A-Za-z0-9-]{1,15}$")]
"""AML compute names: 2-16 letters, digits and '-', starting with a letter."""


class ClusterSettings(Settings):
    vm_size: Annotated[StrictStr, Field(pattern=r"^Standard_[A-Za-z0-9_]{2,40}$")] = "Standard_DS3_v2"
    """an Azure VM size such as Standard_DS3_v2 (the region and quota must offer it). Default
    Standard_DS3_v2."""
    max_nodes: Annotated[StrictInt, Field(ge=1, le=100)] = 2
    """Most nodes the cluster scales out to, 1-100. Default 2."""
    min_nodes: Annotated[StrictInt, Field(ge=0, le=100)] = 0
    """Nodes kept running when idle, 0-100, at most maxNodes. Default 0 (no cost when idle)."""
    idle_seconds_before_scale_down: Annotated[StrictInt, Field(ge=60, le=86400)] = 900
    """Seconds an idle node waits before it is removed, 60-86400. Default 900."""
    low_priority: StrictBool = False
    """Whether nodes are low-priority (cheaper, may be preempted). Default false."""

    @model_validator(mode="after")
    def _range(self):
        if self.min_nodes > self.max_nodes:
            raise ValueError(f"minNodes {self.min_nodes} is more than maxNodes {self.max_nodes}")
        return self


class ComputeSettings(Settings):
    image_builder: ClusterSettings = ClusterSettings()
    """Size of the cluster that `workspace.imageBuildCompute` names; created when that is set.
    minNodes must stay 0: it builds images only now and then."""
    clusters: dict[ComputeName, ClusterSettings] = Field(default_factory=dict)
    """Training clusters by name (2-16 letters, digits and '-'). Default none."""

    @model_validator(mode="after")
    def _builder_scales_to_zero(self):
        if self.image_builder.min_nodes != 0:
            raise ValueError(
                f"imageBuilder.minNodes: got {self.image_builder.min_nodes}; the image-build cluster scales to 0"
            )
        return self

// Package synth generates the synthetic Python backends that the analysis
// benchmarks (BenchmarkAnalyze2000Files, `make bench`) measure.
package synth

import (
	"fmt"
	"strings"
)

// Backend2000 is a generated 2,004-file FastAPI backend (6.7 MB, 260,000
// lines): 40 packages of 48 modules of about 130 lines (imports of the
// standard library, of requirements, of sibling and relative modules;
// classes, routes, docstrings, f-strings), an __init__.py and a service.py
// each, plus the app, its Dockerfile and requirements.
func Backend2000() map[string]string {
	files := map[string]string{
		"Dockerfile":       "FROM public.ecr.aws/lambda/python:3.12\nCOPY requirements.txt ${LAMBDA_TASK_ROOT}/\nRUN pip install -r requirements.txt --target \"${LAMBDA_TASK_ROOT}\"\nCOPY app/ ${LAMBDA_TASK_ROOT}/app/\nCMD [\"app.main.handler\"]\n",
		"requirements.txt": "fastapi==0.115.0\nmangum==0.19.0\nSQLAlchemy==2.0.35\nPyYAML==6.0.2\nhttpx==0.27.2\nboto3\n",
		"app/__init__.py":  "",
	}
	var routers []string
	for p := 0; p < 40; p++ {
		pkg := fmt.Sprintf("app/domain%02d", p)
		files[pkg+"/__init__.py"] = "from . import service\n"
		for m := 0; m < 48; m++ {
			var b strings.Builder
			fmt.Fprintf(&b, "\"\"\"Module %d of domain %d.\n\nimport nothing  # not an import: a docstring\n\"\"\"\n", m, p)
			b.WriteString("from __future__ import annotations\n\nimport json\nimport logging\nimport os\nfrom dataclasses import dataclass, field\nfrom datetime import datetime, timezone\nfrom typing import TYPE_CHECKING, Any\n\n")
			b.WriteString("import httpx\nimport yaml\nfrom fastapi import APIRouter, HTTPException\nfrom pydantic import BaseModel, Field\nfrom sqlalchemy import Column, Integer, String\n\n")
			fmt.Fprintf(&b, "from . import mod%02d\nfrom .mod%02d import helper as _helper\nfrom app.domain%02d import service\n\n", (m+1)%48, (m+2)%48, (p+1)%40)
			b.WriteString("if TYPE_CHECKING:\n    from mypy_boto3_s3 import S3Client\n\ntry:\n    import orjson\nexcept ImportError:\n    orjson = None\n\nlog = logging.getLogger(__name__)\nrouter = APIRouter()\n\n\n")
			for k := 0; k < 6; k++ {
				fmt.Fprintf(&b, "class Item%d(BaseModel):\n    \"\"\"An item.\"\"\"\n\n    id: int = Field(default=0)\n    name: str = \"item-%d\"\n    tags: list[str] = []\n\n\n", k, k)
				fmt.Fprintf(&b, "@router.get(\"/items%d/{item_id}\")\nasync def get_item%d(item_id: int) -> dict[str, Any]:\n    if item_id < 0:\n        raise HTTPException(status_code=404, detail=f\"no item {item_id!r}: {json.dumps({'id': item_id})}\")\n    data = yaml.safe_load('a: 1')\n    return {\"id\": item_id, \"at\": datetime.now(timezone.utc).isoformat(), **data}\n\n\n", k, k)
			}
			b.WriteString("def helper(x):\n    import csv  # lazy\n    return [x, \\\n            x * 2]\n")
			files[fmt.Sprintf("%s/mod%02d.py", pkg, m)] = b.String()
		}
		files[pkg+"/service.py"] = "import boto3\n\n\ndef run():\n    return boto3.client('s3')\n"
		routers = append(routers, fmt.Sprintf("from app.domain%02d.mod00 import router as r%02d\n", p, p))
	}
	files["app/main.py"] = strings.Join(routers, "") + FastAPIMain
	return files
}

// FastAPIMain is the app module of a FastAPI backend behind mangum.
const FastAPIMain = "from fastapi import FastAPI\nfrom mangum import Mangum\n\napp = FastAPI()\nhandler = Mangum(app)\n"

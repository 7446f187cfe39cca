// Deploys the TypeScript example (examples/python-fastapi/typescript) with
// the generated Node.js SDK through the Node Automation API: up, an
// unchanged up, a one-file change, destroy. tests/TestTypeScriptSDK builds
// it and runs it against a local stack, passing it in the environment.
import * as fs from "fs";
import * as path from "path";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { orders } from "./orders";

function env(key: string): string {
    const v = process.env[key];
    if (!v) {
        throw new Error(`${key} is not set: tests/TestTypeScriptSDK runs this with a local stack`);
    }
    return v;
}

function check(ok: boolean, what: string) {
    if (!ok) {
        throw new Error(what);
    }
}

async function main() {
    const backend = env("LAMBDACONTAINER_E2E_BACKEND");
    const stack = await LocalWorkspace.createOrSelectStack(
        { stackName: "dev", projectName: "orders-ts", program: orders(backend) },
        // The work dir's Pulumi.yaml (written by the test) points the
        // engine at the provider built from this checkout.
        { workDir: env("LAMBDACONTAINER_E2E_WORKDIR"), secretsProvider: "passphrase" },
    );
    await stack.setConfig("functionRole", { value: "arn:aws:iam::123456789012:role/orders-api" });
    await stack.setConfig("baseImage", { value: env("LAMBDACONTAINER_E2E_BASE_IMAGE") });

    let res = await stack.up({ onOutput: (s) => process.stdout.write(s) });
    check(res.outputs.version.value === "1" && String(res.outputs.imageUri.value).includes("@sha256:"), `first up: ${JSON.stringify(res.outputs)}`);
    check(res.outputs.verification.value.status === 200, `verification: ${JSON.stringify(res.outputs.verification)}`);

    res = await stack.up({ expectNoChanges: true });
    check(res.outputs.version.value === "1", "an unchanged up redeployed");

    const health = path.join(backend, "app", "routers", "health.py");
    fs.writeFileSync(health, fs.readFileSync(health, "utf8").replace(`"status": "ok"`, `"status": "ok", "build": 2`));
    const preview = await stack.preview({ diff: true });
    check(preview.stdout.includes("app/routers/health.py"), `the preview does not name the changed file:\n${preview.stdout}`);
    res = await stack.up();
    check(res.outputs.version.value === "2", `after the change: ${JSON.stringify(res.outputs)}`);

    await stack.destroy();
    console.log("typescript sdk: up, unchanged up, one-file change and destroy passed");
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});

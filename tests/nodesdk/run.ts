// One step of the TypeScript example's flow (examples/python-fastapi/typescript)
// through the Node Automation API, with the generated Node.js SDK installed
// from its package. tests/TestTypeScriptSDK runs the steps in turn against a
// local stack, changing the backend and checking the function between them:
//
//   up VERSION [no-changes]  the up deploys (or keeps) VERSION, verified
//   preview FILE             `preview --diff` names FILE
//   refused TEXT...          the up fails, its error naming every TEXT
//   destroy
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

async function main(step: string, args: string[]) {
    const stack = await LocalWorkspace.createOrSelectStack(
        { stackName: "dev", projectName: "orders-ts", program: orders(env("LAMBDACONTAINER_E2E_BACKEND")) },
        // The work dir's Pulumi.yaml (written by the test) points the
        // engine at the provider built from this checkout.
        { workDir: env("LAMBDACONTAINER_E2E_WORKDIR"), secretsProvider: "passphrase" },
    );
    await stack.setConfig("functionRole", { value: "arn:aws:iam::123456789012:role/orders-api" });
    await stack.setConfig("baseImage", { value: env("LAMBDACONTAINER_E2E_BASE_IMAGE") });

    switch (step) {
        case "up": {
            const [version, mode] = args;
            const res = await stack.up({ expectNoChanges: mode === "no-changes", onOutput: (s) => process.stdout.write(s) });
            const out = res.outputs;
            check(out.version.value === version && String(out.imageUri.value).includes("@sha256:"), `outputs: ${JSON.stringify(out)}`);
            const v = out.verification.value;
            check(v.status === 200 && v.version === version && v.initDurationMs > 0 && String(v.logExcerpt).includes("REPORT RequestId:"),
                `the verification of version ${version}: ${JSON.stringify(v)}`);
            break;
        }
        case "preview": {
            const preview = await stack.preview({ diff: true });
            console.log(preview.stdout);
            check(preview.stdout.includes(args[0]), `the preview does not name ${args[0]}`);
            break;
        }
        case "refused": {
            let failure = "";
            try {
                await stack.up();
            } catch (err) {
                failure = String(err);
            }
            console.log(failure);
            check(failure !== "", "the up succeeded");
            for (const text of args) {
                check(failure.includes(text), `the failure does not name ${text}`);
            }
            break;
        }
        case "destroy":
            await stack.destroy({ onOutput: (s) => process.stdout.write(s) });
            break;
        default:
            throw new Error(`unknown step ${step}: want up, preview, refused or destroy`);
    }
    console.log(`nodesdk: ${step} passed`);
}

main(process.argv[2], process.argv.slice(3)).catch((err) => {
    console.error(err);
    process.exit(1);
});

import type { TestProject } from "vitest/node";
import { startDemoOrigin } from "../scripts/demo-origin.ts";
import { startWebhookReceiver } from "./webhook-receiver.ts";

declare module "vitest" {
  interface ProvidedContext {
    blueOrigin: string;
    greenOrigin: string;
    flakyGreenOrigin: string;
    webhookUrl: string;
  }
}

/** Real HTTP origins for the worker under test: the same demo origins `npm start` runs. */
export default async function setup(project: TestProject) {
  const blue = await startDemoOrigin("blue");
  const green = await startDemoOrigin("green");
  /** A green origin of its own for the analysis tests, which flip its demo switch to make it fail. */
  const flakyGreen = await startDemoOrigin("green");
  const webhook = await startWebhookReceiver();
  project.provide("blueOrigin", blue.url);
  project.provide("greenOrigin", green.url);
  project.provide("flakyGreenOrigin", flakyGreen.url);
  project.provide("webhookUrl", webhook.url);
  return async () => {
    await blue.close();
    await green.close();
    await flakyGreen.close();
    await webhook.close();
  };
}

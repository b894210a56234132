// PLACEHOLDER: replaced by the task's implementation (middy handler). Exists so the CDK construct can reference the entry.
export const handler = async (): Promise<never> => {
  throw new Error('not implemented yet');
};

/** Whether `url` answers 2xx within `timeoutMs`: a readiness probe (the app's readyPath, Prometheus' /-/ready). Any failure is "not yet". */
export async function answersOk(url: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

// Reading HTTP answers in tests.

/** The first `minChars` or more characters of a streamed body; the rest is not read (the stream is cancelled). */
export async function readHead(res: Response, minChars: number): Promise<string> {
  const reader = res.body!.getReader();
  let head = '';
  while (head.length < minChars) {
    const { value, done } = await reader.read();
    if (done) break;
    head += Buffer.from(value).toString('utf8');
  }
  await reader.cancel();
  return head;
}

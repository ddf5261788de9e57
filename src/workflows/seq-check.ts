import { checkSeq, failureMessage } from './pillow-activities';

/** Why the source would refuse `seq` as a checkpoint, or null; a source that cannot be asked refuses it. */
export async function seqCheck(name: string, seq: string): Promise<string | null> {
  try {
    return (await checkSeq({ name, seq })).problem;
  } catch (err) {
    return `could not check the seq against the source: ${failureMessage(err)}`;
  }
}

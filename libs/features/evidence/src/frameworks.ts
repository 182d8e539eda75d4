import type { EvidenceInput } from './evidence-input';
import type { EvidencePack } from './evidence-pack';
import { control, evidence, factsOf, metricOf, runs, type Facts } from './framework-evidence';

export type ControlStatus = 'evidenced' | 'partial' | 'no-evidence' | 'not-applicable';

export interface ControlAssessment {
  id: string;
  title: string;
  /** What the requirement asks, in short (paraphrased, not the official text). */
  summary: string;
  /**
   * evidenced: the records below speak to every part Tripline can speak to; partial: to some;
   * no-evidence: Tripline holds nothing for it yet; not-applicable: not for this kind of model.
   */
  status: ControlStatus;
  evidence: { section: keyof EvidencePack['sections']; detail: string }[];
  /** What is missing, or outside what Tripline records. */
  gaps: string[];
}

export interface FrameworkAssessment {
  id: string;
  name: string;
  reference: string;
  controls: ControlAssessment[];
}

const UNRECORDED_SCANS =
  'dataset and knowledge-base scans (POST /v1/scans, tripline scan) answer in the request and are not stored: attach their reports';

/** How the pack's records map to each framework's requirements. */
export function assessFrameworks(input: EvidenceInput, pack: EvidencePack): FrameworkAssessment[] {
  const f = factsOf(input, pack);
  return [owaspLlmTop10(f), nistAiRmf(f), euAiAct(f)];
}

function owaspLlmTop10(f: Facts): FrameworkAssessment {
  return {
    id: 'owasp-llm-top-10-2025',
    name: 'OWASP Top 10 for LLM Applications 2025',
    reference: 'https://genai.owasp.org/llm-top-10/',
    controls: [
      control(
        'LLM04:2025',
        'Data and Model Poisoning',
        'Pre-training, fine-tuning or embedding data is manipulated to plant backdoors, biases or vulnerabilities.',
        [evidence.canaries(f), evidence.provenance(f), evidence.rules(f)],
        [UNRECORDED_SCANS],
      ),
      control(
        'LLM03:2025',
        'Supply Chain',
        'Third-party models, weights and data can be tampered with or swapped.',
        [evidence.artefacts(f)],
      ),
      control(
        'LLM08:2025',
        'Vector and Embedding Weaknesses',
        'Retrieval-augmented generation can retrieve poisoned or unauthorised content.',
        [evidence.ragAllowList(f), evidence.ragChecks(f)],
        [UNRECORDED_SCANS],
        f.rag,
      ),
      control(
        'LLM01:2025',
        'Prompt Injection',
        'Instructions in inputs or retrieved content change the model’s behaviour (direct and indirect injection).',
        [
          {
            holds: f.generation.length > 0,
            evidence: () => ({
              section: 'evaluations',
              detail: runs(
                'assertion canary run(s)',
                f.generation,
                metricOf('assertion pass rate', ['generation', 'passRate']),
              ),
            }),
            gap: 'no canary run with assertions on the generated text',
          },
        ],
        f.rag
          ? ['instruction-like content in the knowledge base is found by the RAG scan, which is not stored']
          : [],
        f.generative,
      ),
    ],
  };
}

function nistAiRmf(f: Facts): FrameworkAssessment {
  return {
    id: 'nist-ai-rmf-1.0',
    name: 'NIST AI Risk Management Framework 1.0 (NIST AI 100-1)',
    reference: 'https://doi.org/10.6028/NIST.AI.100-1',
    controls: [...nistMeasureControls(f), ...nistManageControls(f)],
  };
}

/** The MEASURE function: testing, evaluation, verification and validation. */
function nistMeasureControls(f: Facts): ControlAssessment[] {
  return [
    control(
      'MEASURE 2.1',
      'Test sets, metrics and TEVV tools are documented',
      'The data sets, metrics and tools used for testing, evaluation, verification and validation are documented.',
      [evidence.provenance(f), evidence.clean(f)],
    ),
    control(
      'MEASURE 2.3',
      'Performance is measured for deployment-like conditions',
      'Performance or assurance criteria are measured and demonstrated for conditions similar to deployment, and documented.',
      [evidence.clean(f), evidence.monitoring(f)],
    ),
    control(
      'MEASURE 2.4',
      'Functionality and behaviour are monitored in production',
      'The system and its components are monitored when in production.',
      [evidence.monitoring(f), evidence.rules(f)],
    ),
    control(
      'MEASURE 2.5',
      'Validity and reliability are demonstrated',
      'The deployed system is shown to be valid and reliable, and the limits of its generalisation are documented.',
      [evidence.clean(f), evidence.comparisons(f)],
    ),
    control(
      'MEASURE 2.7',
      'Security and resilience are evaluated and documented',
      'Security and resilience of the system are evaluated and documented.',
      [evidence.canaries(f), evidence.artefacts(f)],
      [UNRECORDED_SCANS],
    ),
  ];
}

/** The MANAGE function: risks are responded to and the deployed system is kept in check. */
function nistManageControls(f: Facts): ControlAssessment[] {
  return [
    control(
      'MANAGE 2.2',
      'Mechanisms sustain the value of the deployed system',
      'Mechanisms are in place and applied to sustain the value of deployed AI systems.',
      [evidence.monitoring(f), evidence.rules(f)],
    ),
    control(
      'MANAGE 2.3',
      'Previously unknown risks are responded to',
      'Procedures are followed to respond to and recover from a previously unknown risk when it is identified.',
      [
        {
          holds: f.scans.length > 0 || f.streamWindows > 0,
          evidence: () => ({
            section: 'evaluations',
            detail: `${f.scans.length} trigger scan(s) for unnamed triggers; ${f.streamWindows} stream-detector window(s) for unforeseen drift`,
          }),
          gap: 'no trigger scan and no stream-detector window: only known triggers are tested',
        },
        evidence.incidents(f),
      ],
      ['recovery steps (rollback, retraining) are taken outside Tripline'],
    ),
    control(
      'MANAGE 2.4',
      'Systems can be superseded, disengaged or deactivated',
      'Mechanisms and responsibilities exist to supersede, disengage or deactivate systems whose outcomes are inconsistent with intended use.',
      [
        {
          holds: f.localWithManifest.length > 0,
          evidence: () => ({
            section: 'verifications',
            detail:
              'a local version whose files differ from its manifest is refused at load and raises a critical alert',
          }),
          gap: 'no local version with a manifest: Tripline cannot refuse a load for this model',
        },
        evidence.rules(f),
      ],
      ['deactivating the production deployment is an operator action outside Tripline'],
    ),
    control(
      'MANAGE 4.1',
      'Post-deployment monitoring plans are implemented',
      'Post-deployment monitoring plans are implemented, including incident response, recovery and change management.',
      [evidence.monitoring(f), evidence.rules(f), evidence.artefacts(f)],
    ),
    control(
      'MANAGE 4.3',
      'Incidents and errors are tracked and communicated',
      'Incidents and errors are communicated to relevant actors; tracking, response and recovery are followed and documented.',
      [evidence.incidents(f), evidence.rules(f)],
    ),
  ];
}

function euAiAct(f: Facts): FrameworkAssessment {
  return {
    id: 'eu-ai-act',
    name: 'EU AI Act (Regulation (EU) 2024/1689)',
    reference: 'https://eur-lex.europa.eu/eli/reg/2024/1689/oj',
    controls: [
      control(
        'Art. 10',
        'Data and data governance',
        'Training, validation and testing data are subject to governance covering their origin and collection (10(2)(b)) and are relevant, representative and as free of errors as possible (10(3)).',
        [evidence.provenance(f)],
        [
          'the training data of the model itself is covered only where it was uploaded or scanned',
          'examination for bias (10(2)(f), (g)) is outside what Tripline measures',
        ],
      ),
      control(
        'Art. 15',
        'Accuracy, robustness and cybersecurity',
        'Appropriate accuracy (with declared metrics, 15(3)), consistent performance, and resilience against attacks including data poisoning and model poisoning (15(5)).',
        [evidence.clean(f), evidence.comparisons(f), evidence.canaries(f), evidence.artefacts(f)],
      ),
      control(
        'Art. 72',
        'Post-market monitoring',
        'A documented post-market monitoring system that actively and systematically collects and analyses performance data throughout the lifetime.',
        [evidence.monitoring(f), evidence.rules(f), evidence.incidents(f)],
        ['the post-market monitoring plan document itself (72(3)) is written by the provider'],
      ),
    ],
  };
}

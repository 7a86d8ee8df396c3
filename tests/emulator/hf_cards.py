"""Long model-card bodies kept apart from the fixture data so definitions stay readable."""

BERT_BODY = """
# BERT base model (uncased)

Pretrained model on English language using a masked language modeling (MLM) objective. It was
introduced in [this paper](https://arxiv.org/abs/1810.04805) and first released in
[this repository](https://github.com/google-research/bert). This model is uncased: it does not make a
difference between english and English.

## Model description

BERT is a transformers model pretrained on a large corpus of English data (BookCorpus and English Wikipedia)
in a self-supervised fashion, with two objectives: masked language modeling and next sentence prediction.

## Intended uses & limitations

You can use the raw model for masked language modeling, but it is mostly intended to be fine-tuned on a
downstream task such as sequence classification, token classification or question answering.

### How to use

You can use this model directly with a pipeline for masked language modeling:

```python
>>> from transformers import pipeline
>>> unmasker = pipeline('fill-mask', model='google-bert/bert-base-uncased')
>>> unmasker("Hello I'm a [MASK] model.")
```

Here is how to use this model to get the features of a given text in PyTorch:

```python
from transformers import AutoTokenizer, AutoModel
tokenizer = AutoTokenizer.from_pretrained("google-bert/bert-base-uncased")
model = AutoModel.from_pretrained("google-bert/bert-base-uncased")
encoded_input = tokenizer("Replace me by any text you'd like.", return_tensors='pt')
output = model(**encoded_input)
```

### Limitations and bias

Even if the training data used for this model could be characterized as fairly neutral, this model can have
biased predictions.

## Training data

The BERT model was pretrained on [BookCorpus](https://huggingface.co/datasets/bookcorpus/bookcorpus), a
dataset consisting of 11,038 unpublished books and [English Wikipedia](https://huggingface.co/datasets/wikimedia/wikipedia).

## Evaluation results

| Task | MNLI-(m/mm) | QQP  | QNLI | SST-2 | CoLA | STS-B | MRPC | RTE  | Average |
|:----:|:-----------:|:----:|:----:|:-----:|:----:|:-----:|:----:|:----:|:-------:|
|      | 84.6/83.4   | 71.2 | 90.5 | 93.5  | 52.1 | 85.8  | 88.9 | 66.4 | 79.6    |

### BibTeX entry and citation info

```bibtex
@article{DBLP:journals/corr/abs-1810-04805,
  author = {Jacob Devlin and Ming{-}Wei Chang and Kenton Lee and Kristina Toutanova},
  title = {{BERT:} Pre-training of Deep Bidirectional Transformers for Language Understanding},
  journal = {CoRR}, volume = {abs/1810.04805}, year = {2018}
}
```
"""
